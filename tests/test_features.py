"""Article features: event kinds in three languages, title grams, the lead, the whole record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline import minhash
from pipeline.entities import EntityTable, load_entities
from pipeline.features import LEAD_CHARS, events_of, features, lead, title_grams
from pipeline.settings import SEEDS_DIR

EVENTS = [
    ("launch-en", "DeepSeek launches R1 reasoning model", {"launch"}),
    ("launch-en-prefix", "Baidu introduces ERNIE X1", {"launch"}),
    ("launch-ko", "바이두, 어니X1 출시", {"launch"}),
    ("launch-zh", "百度发布文心大模型X1", {"launch"}),
    ("price-en", "Alibaba cuts cloud AI prices", {"price"}),
    ("price-ko", "알리바바, AI 가격 인하", {"price"}),
    ("price-zh", "阿里云降价", {"price"}),
    ("funding-en", "Moonshot AI in talks for new funding at higher valuation", {"funding"}),
    ("funding-ko", "문샷AI, 기업가치 30억달러 인정받아", {"funding"}),
    ("funding-zh", "月之暗面完成新一轮融资", {"funding"}),
    ("spending-en", "Meituan to spend billions on AI data centers", {"spending"}),
    ("spending-ko", "메이퇀, 데이터센터에 수십억달러 투입", {"spending"}),
    ("spending-zh", "美团将投入数十亿美元建设数据中心", {"spending"}),
    ("earnings-en", "Tencent quarterly revenue beats estimates", {"earnings"}),
    ("earnings-ko", "텐센트 분기 매출 증가", {"earnings"}),
    ("earnings-zh", "腾讯财报营收增长", {"earnings"}),
    ("policy-en", "US weighs ban on DeepSeek", {"policy"}),
    ("policy-ko", "정부, 딥시크 접속 차단", {"policy"}),
    ("policy-zh", "美国考虑限制深度求索", {"policy"}),
    ("two-kinds", "Baidu launches ERNIE X1 and makes its chatbot free", {"launch", "price"}),
    ("none-en", "Interview with an AI researcher", set()),
    ("none-ko", "인공지능 연구자 인터뷰", set()),
    ("none-zh", "人工智能研究者访谈", set()),
    # Latin cues start a word: these words only contain one
    ("executive", "OpenAI executive talks about the future", set()),
    ("around", "AI labs around the world", set()),
    ("praise", "Praise for the new chatbot", set()),
    ("urban", "Urban planners try chatbots", set()),
    ("case-and-spacing", "DeepSeek   LAUNCHES\nR1", {"launch"}),
]


@pytest.mark.parametrize(
    ("text", "kinds"), [(t, k) for _, t, k in EVENTS], ids=[i for i, _, _ in EVENTS]
)
def test_events_of(text: str, kinds: set[str]) -> None:
    assert events_of(text) == kinds


@pytest.mark.parametrize(
    ("title", "grams"),
    [
        ("DeepSeek R1", {"de", "ee", "ep", "ps", "se", "ek", "kr", "r1"}),
        ("딥시크, R1!", {"딥시", "시크", "크r", "r1"}),
        ("百度发布", {"百度", "度发", "发布"}),
        ("A", set()),
        ("", set()),
    ],
    ids=["en", "ko", "zh", "one-char", "empty"],
)
def test_title_grams(title: str, grams: set[str]) -> None:
    assert title_grams(title) == frozenset(grams)


@pytest.mark.parametrize(
    ("text", "length"),
    [("", 0), ("short lead", 10), ("x" * LEAD_CHARS, LEAD_CHARS), ("가" * 1000, LEAD_CHARS)],
    ids=["empty", "short", "exact", "long"],
)
def test_lead_length(text: str, length: int) -> None:
    assert len(lead(text)) == length
    assert text.startswith(lead(text))


@pytest.fixture(scope="module")
def table() -> EntityTable:
    return load_entities(SEEDS_DIR / "entities.yaml")


def test_features_of_an_article(table: EntityTable) -> None:
    when = datetime(2025, 3, 25, 9, tzinfo=UTC)
    title = "Baidu launches ERNIE X1 to rival DeepSeek"
    text = (
        "Baidu said on Sunday its X1 model matches R1 at half the price. "
        + "Filler about the market. " * 20
        + "Tencent also cut prices by 50%, and Meituan pledged $1 billion."
    )
    record = features(
        article_id=7,
        source="wire-en",
        lang="en",
        when=when,
        fetched=when,
        title=title,
        text=text,
        fingerprint="f" * 16,
        entities=table,
    )
    assert (record.id, record.source, record.lang, record.title) == (7, "wire-en", "en", title)
    assert record.actor == "Baidu"
    assert record.title_entities == {"Baidu", "ERNIE X1", "DeepSeek"}
    # R1 counts: DeepSeek is named in the article. Tencent and Meituan are beyond the lead.
    assert record.headline_entities == {"Baidu", "ERNIE X1", "DeepSeek", "DeepSeek-R1"}
    assert record.entities == record.headline_entities | {"Tencent", "Meituan"}
    assert record.keys == {"code:x1", "code:r1", "pct:50", "amt:1.0e09"}
    assert record.events == {"launch", "price"}
    assert record.title_grams == title_grams(title)
    assert minhash.similarity(record.sketch, minhash.sketch(text)) == 1.0
    assert record.bands == tuple(minhash.band_keys(record.sketch))


def test_actor_falls_back_to_the_lead(table: EntityTable) -> None:
    when = datetime(2025, 3, 25, 9, tzinfo=UTC)
    record = features(
        article_id=1,
        source="desk-ko",
        lang="ko",
        when=when,
        fetched=when,
        title="중국 AI, 가격 전쟁",
        text="알리바바가 가격을 내렸다. 바이두도 뒤따랐다.",
        fingerprint="0" * 16,
        entities=table,
    )
    assert record.title_entities == frozenset()
    assert record.actor == "Alibaba"
    assert record.events == {"price"}
