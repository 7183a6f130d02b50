"""Money amounts as news outlets write them, in English, Korean and Chinese.

Each case is one sentence with one amount: its value (or its range, for vague sums and spans),
currency, ``value_usd`` (exact for USD; the real rate table of ``seeds/rates.yaml`` otherwise),
kind and unit. Ids start with the language. Then modality, several amounts in one sentence, and
numbers that are not money.

Choices kept as the module makes them: ``¥`` is yuan (the module's docstring says why);
"近6000亿美元" (nearly) is read as the figure itself; a monthly sum is a price unless a nearer
cue says otherwise ("spends $1 billion a month" is investment, per month).
"""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.amounts import Amount, find_amounts
from pipeline.classify import load_rates
from pipeline.settings import SEEDS_DIR

RATES = load_rates(SEEDS_DIR / "rates.yaml")
SEED = SEEDS_DIR / "000_2d32b73d0aa229da.txt"
TOKENS = "per million tokens"
MONTH = "per month"


def case(
    name: str,
    text: str,
    value: float | None,
    currency: str,
    kind: str = "other",
    *,
    unit: str | None = None,
    low: float | None = None,
    high: float | None = None,
    raw: str | None = None,
) -> Any:
    """One sentence with one amount; ``low``/``high`` instead of ``value`` for a range."""
    want = {"value": value, "currency": currency, "kind": kind, "unit": unit}
    return pytest.param(text, want | {"low": low, "high": high, "raw": raw}, id=name)


FORMS = [
    # ------------------------------------------------------------------ English
    case(
        "en-usd-billion",
        "The Stargate project will invest $500 billion in AI infrastructure over four years.",
        5.0e11,
        "USD",
        "investment",
        raw="$500 billion",
    ),
    case(
        "en-us-dollar-bn",
        "Moonshot AI raised US$1.2bn from Alibaba and Tencent.",
        1.2e9,
        "USD",
        "investment",
        raw="US$1.2bn",
    ),
    case(
        "en-per-million-tokens",
        "DeepSeek prices R1 input at $0.55 per million tokens.",
        0.55,
        "USD",
        "price",
        unit=TOKENS,
        raw="$0.55 per million tokens",
    ),
    case(
        "en-per-million-output-tokens",
        "Output is billed at $2.19 per million output tokens.",
        2.19,
        "USD",
        "price",
        unit=TOKENS,
        raw="$2.19 per million output tokens",
    ),
    case(
        "en-per-1m-input-tokens",
        "Claude 3.7 Sonnet costs $3 per 1M input tokens.",
        3.0,
        "USD",
        "price",
        unit=TOKENS,
    ),
    case(
        "en-yuan-per-million-tokens",
        "DeepSeek charges 2 yuan per million input tokens.",
        2.0,
        "CNY",
        "price",
        unit=TOKENS,
    ),
    case(
        "en-a-month",
        "ChatGPT Plus costs $20 a month.",
        20.0,
        "USD",
        "price",
        unit=MONTH,
        raw="$20 a month",
    ),
    case(
        "en-hyphenated-a-month",
        "OpenAI launched a $200-a-month ChatGPT Pro plan.",
        200.0,
        "USD",
        "price",
        unit=MONTH,
        raw="$200-a-month",
    ),
    case(
        "en-per-month",
        "Google One AI Premium is priced at $19.99 per month.",
        19.99,
        "USD",
        "price",
        unit=MONTH,
    ),
    case("en-slash-month", "Perplexity Pro is $20/month.", 20.0, "USD", "price", unit=MONTH),
    case(
        "en-won-a-month",
        "Korean users pay 29,000 won a month for the premium tier.",
        29000.0,
        "KRW",
        "price",
        unit=MONTH,
    ),
    case("en-plain-price", "The Mac Studio costs $3,999.", 3999.0, "USD", "price"),
    case(
        "en-monthly-spend",
        "Meta spends $1 billion a month on compute.",
        1e9,
        "USD",
        "investment",
        unit=MONTH,
    ),
    case("en-euro-sign", "Mistral AI is seeking to raise €2 billion.", 2e9, "EUR", "investment"),
    case(
        "en-euros-word",
        "Mistral raised 2 billion euros in new funding.",
        2e9,
        "EUR",
        "investment",
        raw="2 billion euros",
    ),
    case(
        "en-eur-code",
        "Mistral's Series B raised EUR 385 million.",
        3.85e8,
        "EUR",
        "investment",
    ),
    case("en-pound-bn", "Britain will invest £1bn in supercomputers.", 1e9, "GBP", "investment"),
    case(
        "en-hkd-sign",
        "Alibaba raised HK$10 billion through a share placement.",
        1e10,
        "HKD",
        "investment",
    ),
    case(
        "en-hkd-words",
        "Zhipu hopes to raise 10 billion Hong Kong dollars in its listing.",
        1e10,
        "HKD",
        "investment",
    ),
    case(
        "en-yen-sign-is-yuan",
        "Baidu will spend ¥10 billion on AI chips.",
        1e10,
        "CNY",
        "investment",
    ),
    case(
        "en-yuan-words",
        "Alibaba will invest 380 billion yuan in cloud and AI infrastructure over three years.",
        3.8e11,
        "CNY",
        "investment",
    ),
    case(
        "en-rmb-code",
        "Baidu said it would raise RMB10bn in a bond sale.",
        1e10,
        "CNY",
        "investment",
    ),
    case(
        "en-won-trillion",
        "Naver will spend 1 trillion won on AI over five years.",
        1e12,
        "KRW",
        "investment",
    ),
    case("en-usd-million", "DeepSeek said it trained V3 for $6 million.", 6e6, "USD"),
    case("en-m-suffix", "The final training run cost $5.6m.", 5.6e6, "USD", raw="$5.6m"),
    case("en-capital-b", "Safe Superintelligence raised a $2B round.", 2e9, "USD", "investment"),
    case("en-spaced-bn", "The deal is worth $2 bn.", 2e9, "USD"),
    case("en-tn", "Stargate could grow into a $1.5tn project.", 1.5e12, "USD"),
    case("en-trillion", "Nvidia's market value passed $3 trillion.", 3e12, "USD"),
    case(
        "en-usd-code",
        "Zhipu secured USD 400 million in new funding.",
        4e8,
        "USD",
        "investment",
    ),
    case(
        "en-us-dollars-words",
        "Alibaba Cloud pledged 5 billion US dollars to its partners.",
        5e9,
        "USD",
        "investment",
    ),
    case(
        "en-million-dollars-words",
        "The startup raised 100 million dollars.",
        1e8,
        "USD",
        "investment",
    ),
    case(
        "en-plain-thousands",
        "The foundation gave $1,500,000 in grants.",
        1.5e6,
        "USD",
        raw="$1,500,000",
    ),
    case(
        "en-valuation",
        "The deal puts OpenAI at a $300 billion valuation.",
        3e11,
        "USD",
        "valuation",
    ),
    case("en-valued-at", "xAI is now valued at $80 billion.", 8e10, "USD", "valuation"),
    case(
        "en-revenue", "OpenAI expects revenue of $3.7 billion this year.", 3.7e9, "USD", "revenue"
    ),
    case(
        "en-spend",
        "Microsoft plans to spend $80 billion on AI data centers this fiscal year.",
        8e10,
        "USD",
        "investment",
    ),
    case(
        "en-investment-noun",
        "Nvidia announced a $10 billion investment.",
        1e10,
        "USD",
        "investment",
    ),
    case("en-capex", "Meta's capex will reach $65 billion in 2025.", 6.5e10, "USD", "investment"),
    case(
        "en-hundreds-of-millions",
        "Labs spend hundreds of millions of dollars on each training run.",
        None,
        "USD",
        "investment",
        low=1e8,
        high=1e9,
    ),
    case(
        "en-billions",
        "Meituan pledged billions of dollars for AI.",
        None,
        "USD",
        "investment",
        low=2e9,
        high=1e10,
    ),
    case(
        "en-tens-of-billions",
        "Big tech firms are pouring tens of billions of dollars into data centers.",
        None,
        "USD",
        "investment",
        low=1e10,
        high=1e11,
    ),
    case(
        "en-billions-of-yuan",
        "Chinese cloud vendors invest billions of yuan in GPUs.",
        None,
        "CNY",
        "investment",
        low=2e9,
        high=1e10,
    ),
    case(
        "en-span-hyphen",
        "Analysts expect the round to be $40-50 billion.",
        None,
        "USD",
        "investment",
        low=4e10,
        high=5e10,
        raw="$40-50 billion",
    ),
    case(
        "en-span-to",
        "Training the next model could cost $5 to $10 billion.",
        None,
        "USD",
        low=5e9,
        high=1e10,
    ),
    # ------------------------------------------------------------------ Korean
    case(
        "ko-eok-dollar",
        "미국 빅테크들이 1000억달러 규모의 AI 인프라 투자에 나섰다.",
        1e11,
        "USD",
        "investment",
        raw="1000억달러",
    ),
    case(
        "ko-eok-dollar-spaced",
        "오픈AI와 소프트뱅크는 스타게이트에 5000억 달러를 투입한다.",
        5e11,
        "USD",
        "investment",
        raw="5000억 달러",
    ),
    case("ko-jo-won", "삼성전자가 AI 반도체에 1조원을 투자했다.", 1e12, "KRW", "investment"),
    case(
        "ko-jo-eok-spaced",
        "SK텔레콤은 AI 데이터센터에 1조 2000억원을 투자한다.",
        1.2e12,
        "KRW",
        "investment",
        raw="1조 2000억원",
    ),
    case(
        "ko-jo-cheon-eok",
        "네이버는 올해 AI 인프라에 1조2천억 원을 쏟아붓는다.",
        1.2e12,
        "KRW",
        "investment",
        raw="1조2천억 원",
    ),
    case("ko-decimal-jo", "삼성은 AI에 1.5조원을 투입한다.", 1.5e12, "KRW", "investment"),
    case(
        "ko-eok-man",
        "리벨리온은 3억5000만 달러 규모의 투자를 유치했다.",
        3.5e8,
        "USD",
        "investment",
        raw="3억5000만 달러",
    ),
    case(
        "ko-eok-cheon-man",
        "AI 스타트업이 2억5천만 달러를 유치했다.",
        2.5e8,
        "USD",
        "investment",
    ),
    case("ko-cheon-eok", "스타게이트는 5천억 달러 규모의 프로젝트다.", 5e11, "USD"),
    case(
        "ko-600-eok",
        "메타는 올해 600억 달러를 AI에 지출할 계획이다.",
        6e10,
        "USD",
        "investment",
    ),
    case(
        "ko-12-eok",
        "퓨리오사AI는 12억 달러 규모 투자를 유치했다.",
        1.2e9,
        "USD",
        "investment",
    ),
    case("ko-man-dollar", "딥시크는 훈련비로 600만 달러를 썼다고 밝혔다.", 6e6, "USD"),
    case("ko-jo-dollar", "엔비디아 시가총액이 3조 달러를 넘어섰다.", 3e12, "USD"),
    case(
        "ko-after-a-date",  # "3월" is March, not "per month"
        "오픈AI는 지난 3월 400억 달러를 유치했다.",
        4e10,
        "USD",
        "investment",
    ),
    case(
        "ko-vague-sipeok",
        "업계가 수십억달러를 들여 AI모델을 구축할 필요가 없다.",
        None,
        "USD",
        low=1e9,
        high=1e10,
        raw="수십억달러",
    ),
    case(
        "ko-vague-baekman",
        "딥시크는 고작 수백만달러를 들여 강력한 AI모델을 출시했다.",
        None,
        "USD",
        low=1e6,
        high=1e7,
    ),
    case(
        "ko-vague-cheoneok-won",
        "카카오는 AI에 수천억원을 투자하겠다고 밝혔다.",
        None,
        "KRW",
        "investment",
        low=1e11,
        high=1e12,
    ),
    case(
        "ko-vague-baekeok-won",
        "정부는 AI 반도체에 수백억 원을 지원한다.",
        None,
        "KRW",
        low=1e10,
        high=1e11,
    ),
    case(
        "ko-vague-sujo",
        "빅테크들은 매년 AI에 수조원을 쏟아붓는다.",
        None,
        "KRW",
        "investment",
        low=2e12,
        high=1e13,
    ),
    case(
        "ko-vague-sueok",
        "xAI는 수억 달러를 들여 슈퍼컴퓨터를 지었다.",
        None,
        "USD",
        low=2e8,
        high=1e9,
    ),
    case("ko-yuan", "알리바바는 AI 스타트업에 20억 위안을 투자했다.", 2e9, "CNY", "investment"),
    case(
        "ko-yuan-three-years",
        "알리바바는 3년간 3800억위안을 투자한다고 밝혔다.",
        3.8e11,
        "CNY",
        "investment",
    ),
    case("ko-euro", "미스트랄AI는 5억 유로를 조달했다.", 5e8, "EUR", "investment"),
    case("ko-yen", "소프트뱅크는 10억 엔을 투자했다.", 1e9, "JPY", "investment"),
    case("ko-hkd", "알리바바는 100억 홍콩달러를 조달했다.", 1e10, "HKD", "investment"),
    case(
        "ko-per-million-tokens",
        "딥시크 V3는 백만 토큰당 0.14달러를 받는다.",
        0.14,
        "USD",
        "price",
        unit=TOKENS,
    ),
    case(
        "ko-per-100-man-tokens",
        "GPT-4o 입력 가격은 100만 토큰당 2.5달러다.",
        2.5,
        "USD",
        "price",
        unit=TOKENS,
    ),
    case(
        "ko-per-100-man-gae",
        "입력 토큰 100만개당 0.27달러로 책정됐다.",
        0.27,
        "USD",
        "price",
        unit=TOKENS,
    ),
    case(
        "ko-month-dollar",
        "챗GPT 플러스 구독료는 월 20달러다.",
        20.0,
        "USD",
        "price",
        unit=MONTH,
    ),
    case(
        "ko-month-man-won",
        "국내 이용자는 매월 2만9000원을 낸다.",
        29000.0,
        "KRW",
        "price",
        unit=MONTH,
        raw="2만9000원",
    ),
    case("ko-month-won", "월 9900원짜리 요금제를 내놨다.", 9900.0, "KRW", "price", unit=MONTH),
    case("ko-plain-price", "비전프로의 가격은 3499달러다.", 3499.0, "USD", "price"),
    case(
        "ko-valuation",
        "앤트로픽은 기업가치 3000억달러를 인정받았다.",
        3e11,
        "USD",
        "valuation",
    ),
    case("ko-revenue", "삼성SDS는 AI 사업에서 매출 1조원을 올렸다.", 1e12, "KRW", "revenue"),
    # ------------------------------------------------------------------ Chinese
    case(
        "zh-yi-yuan",
        "阿里巴巴未来三年将投入3800亿元建设云和AI硬件基础设施。",
        3.8e11,
        "CNY",
        "investment",
        raw="3800亿元",
    ),
    case("zh-yi-dollar", "星际之门项目将投资5000亿美元。", 5e11, "USD", "investment"),
    case("zh-wan-yi", "国家计划投资2万亿元建设算力网络。", 2e12, "CNY", "investment"),
    case("zh-decimal-wan-yi", "中国AI核心产业规模将超过1.2万亿元。", 1.2e12, "CNY"),
    case("zh-decimal-yi-dollar", "月之暗面完成1.5亿美元融资。", 1.5e8, "USD", "investment"),
    case(
        "zh-yuan-renminbi",
        "智谱获得10亿元人民币投资。",
        1e9,
        "CNY",
        "investment",
        raw="10亿元人民币",
    ),
    case("zh-nearly", "全球AI基础设施投资近6000亿美元。", 6e11, "USD", "investment"),
    case("zh-wan-yuan", "该模型的训练成本仅为3000万元。", 3e7, "CNY"),
    case("zh-korean-won", "三星将投资1万亿韩元。", 1e12, "KRW", "investment"),
    case("zh-euro", "Mistral融资20亿欧元。", 2e9, "EUR", "investment"),
    case("zh-hkd-gangbi", "阿里巴巴通过配售融资100亿港币。", 1e10, "HKD", "investment"),
    case("zh-hkd-gangyuan", "该公司计划投资100亿港元。", 1e10, "HKD", "investment"),
    case(
        "zh-per-million-slash",
        "DeepSeek-V3输入价格为2元/百万tokens。",
        2.0,
        "CNY",
        "price",
        unit=TOKENS,
        raw="2元/百万tokens",
    ),
    case(
        "zh-per-million-before",
        "每百万tokens输出价格8元。",
        8.0,
        "CNY",
        "price",
        unit=TOKENS,
        raw="8元",
    ),
    case(
        "zh-per-million-output-before",
        "每百万输出tokens 16元",
        16.0,
        "CNY",
        "price",
        unit=TOKENS,
    ),
    case(
        "zh-per-million-dollar",
        "输出价格为每百万tokens 2.19美元。",
        2.19,
        "USD",
        "price",
        unit=TOKENS,
    ),
    case("zh-month-fee", "ChatGPT Plus月费20美元。", 20.0, "USD", "price", unit=MONTH),
    case("zh-per-month-slash", "专业版定价200美元/月。", 200.0, "USD", "price", unit=MONTH),
    case("zh-retail-price", "这款AI PC售价9999元。", 9999.0, "CNY", "price"),
    case(
        "zh-vague-shishi",
        "业界投入数十亿美元训练模型。",
        None,
        "USD",
        "investment",
        low=1e9,
        high=1e10,
        raw="数十亿美元",
    ),
    case(
        "zh-vague-shangqian",
        "多家云厂商将投入上千亿元建设数据中心。",
        None,
        "CNY",
        "investment",
        low=1e11,
        high=1e12,
        raw="上千亿元",
    ),
    case("zh-vague-jishi", "OpenAI每年在算力上花费几十亿美元。", None, "USD", low=1e9, high=1e10),
    case(
        "zh-vague-shuyi",
        "这家初创公司已融资数亿元。",
        None,
        "CNY",
        "investment",
        low=2e8,
        high=1e9,
    ),
    case(
        "zh-vague-shangyi",
        "企业投入上亿元研发大模型。",
        None,
        "CNY",
        "investment",
        low=1e8,
        high=1e9,
    ),
    case("zh-valuation", "Anthropic估值达3000亿美元。", 3e11, "USD", "valuation"),
    case("zh-revenue", "公司营收达100亿元。", 1e10, "CNY", "revenue"),
    case("zh-revenue-decimal", "AI业务收入达到12.5亿元。", 1.25e9, "CNY", "revenue"),
    case("zh-invest", "微软将投资800亿美元建设AI数据中心。", 8e10, "USD", "investment"),
    case("zh-capex", "腾讯今年资本开支超过1000亿元。", 1e11, "CNY", "investment"),
]


@pytest.mark.parametrize(("text", "want"), FORMS)
def test_one_amount_as_written(text: str, want: dict[str, Any]) -> None:
    (amount,) = find_amounts("", text, RATES)
    if want["raw"] is not None:
        assert amount.raw == want["raw"]
    assert amount.currency == want["currency"]
    assert amount.kind == want["kind"]
    assert amount.unit == want["unit"]
    if want["value"] is None:  # a vague sum or a span: a range, no single value
        assert amount.value is None and amount.value_usd is None
        assert amount.low == pytest.approx(want["low"])
        assert amount.high == pytest.approx(want["high"])
        return
    assert amount.value == pytest.approx(want["value"])
    assert amount.low is None and amount.high is None
    if amount.currency == "USD":
        assert amount.value_usd == amount.value  # exact, no rate
    else:
        assert amount.value_usd == pytest.approx(want["value"] * RATES[want["currency"]])


def test_every_language_has_its_share_of_forms() -> None:
    ids = [param.id or "" for param in FORMS]
    assert sum(i.startswith("en-") for i in ids) >= 30
    assert sum(i.startswith("ko-") for i in ids) >= 25
    assert sum(i.startswith("zh-") for i in ids) >= 20
    assert len(set(ids)) == len(ids)


MODALITIES = [
    ("en-reported", "Anthropic is reportedly in talks to raise $40 billion.", ["reported"]),
    (
        "en-reported-people-familiar",
        "xAI is raising $10 billion, according to people familiar with the matter.",
        ["reported"],
    ),
    ("en-planned", "Microsoft plans to spend $80 billion on AI data centers.", ["planned"]),
    ("en-planned-will", "Alibaba will invest 380 billion yuan in AI.", ["planned"]),
    ("en-announced", "Nvidia announced a $10 billion investment.", ["announced"]),
    ("en-talk", "There is talk of a $100 billion fund.", ["talk"]),
    (
        "ko-talk-seed",
        "사람들은 1000억달러 투자니, 5000억달러 투자니 이야기한다.",
        ["talk", "talk"],
    ),
    ("ko-planned", "메타는 AI 인프라에 650억 달러를 투자할 계획이다.", ["planned"]),
    ("ko-planned-gettda", "메이퇀도 AI에 수십억달러를 쏟아붓겠다고 선언했다.", ["planned"]),
    (
        "ko-reported-over-plan",  # a report of a plan is still a report
        "블룸버그는 메타가 650억 달러를 투자할 계획이라고 보도했다.",
        ["reported"],
    ),
    ("ko-reported", "오픈AI가 400억 달러를 조달하는 것으로 알려졌다.", ["reported"]),
    ("ko-announced", "삼성전자가 AI 반도체에 1조원을 투자했다.", ["announced"]),
    ("zh-reported", "据报道，xAI正在寻求融资100亿美元。", ["reported"]),
    ("zh-reported-over-plan", "据悉，公司拟融资5亿美元。", ["reported"]),
    ("zh-planned", "阿里巴巴未来三年将投入3800亿元。", ["planned"]),
    ("zh-announced", "月之暗面完成1.5亿美元融资。", ["announced"]),
    ("zh-talk", "有人说要投资5000亿美元。", ["talk"]),
]


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for _, t, e in MODALITIES], ids=[i for i, _, _ in MODALITIES]
)
def test_modality(text: str, expected: list[str]) -> None:
    assert [a.modality for a in find_amounts("", text, RATES)] == expected


SEVERAL = [
    (
        "en-round-and-valuation",
        "OpenAI raised $40 billion at a $300 billion valuation.",
        [(4e10, "investment"), (3e11, "valuation")],
    ),
    (
        "ko-round-and-valuation",
        "오픈AI, 400억 달러 투자 유치…기업가치 3000억 달러",
        [(4e10, "investment"), (3e11, "valuation")],
    ),
    (
        "zh-valuation-and-round",
        "OpenAI以3000亿美元估值融资400亿美元。",
        [(3e11, "valuation"), (4e10, "investment")],
    ),
    (
        "en-both-ends-written",
        "The round could be between $40 billion and $50 billion.",
        [(4e10, "investment"), (5e10, "investment")],
    ),
    (
        "en-old-and-new-price",  # a change, not a span: no scale is shared
        "OpenAI raised the price from $20 to $200 a month.",
        [(20.0, "price"), (200.0, "price")],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for _, t, e in SEVERAL], ids=[i for i, _, _ in SEVERAL]
)
def test_several_amounts_in_one_sentence(text: str, expected: list[tuple[float, str]]) -> None:
    assert [(a.value, a.kind) for a in find_amounts("", text, RATES)] == expected


NOT_MONEY = [
    ("en-model-sizes", "Alibaba's QwQ-32B rivals DeepSeek-R1, which has 671B parameters."),
    ("en-trillion-parameters", "Llama 4 Behemoth has 2 trillion parameters."),
    ("en-year", "In 2025 the lab released three models."),
    ("en-date", "The model shipped on March 25, 2025."),
    ("en-iso-date", "Version 2.0 was released on 2025-01-20."),
    ("en-percent", "DeepSeek cut prices by 75% at night, and 50 percent by day."),
    ("en-plain-numbers", "The cluster has 100,000 GPUs and 200 employees."),
    ("en-won-the-verb", "GPT-4 won, and the model released in 2024 won praise."),
    ("en-token-counts", "It handles 128,000 tokens, or 1 million tokens of context."),
    ("ko-parameters", "딥시크 R1은 6710억 개 파라미터를 갖췄다."),
    ("ko-date", "2025년 3월 25일 공개됐다."),
    ("ko-percent", "가격을 50% 내리고 성능은 30퍼센트 높였다."),
    ("ko-principles", "정부는 AI 3원칙을 발표했다."),
    ("ko-en-particle", "클로드 3.5엔 없는 기능이다."),  # 엔 = 에는, not yen
    ("ko-count", "지난 2주 동안 최소 10개 주요 제품을 출시했다."),
    ("zh-parameters", "QwQ-32B模型参数量为320亿。"),
    ("zh-billions-of-parameters", "参数量达6710亿。"),
    ("zh-date", "2025年3月25日发布。"),
    ("zh-percent", "降价50%。"),
    ("zh-users", "用户数突破1亿。"),
]


@pytest.mark.parametrize("text", [t for _, t in NOT_MONEY], ids=[i for i, _ in NOT_MONEY])
def test_not_money(text: str) -> None:
    assert find_amounts("", text, RATES) == []


def test_without_rates_only_usd_is_converted() -> None:
    usd, cny = find_amounts("", "投资5000亿美元和3800亿元。")
    assert (usd.value_usd, cny.value_usd) == (5e11, None)


def test_the_seed_article() -> None:
    """The seed's amounts: vague sums as ranges, and the talk of 1000억 and 5000억 달러."""
    title, _, text = SEED.read_text(encoding="utf-8").partition("\n")
    found: list[Amount] = find_amounts(title, text, RATES)
    assert [(a.raw, a.modality) for a in found] == [
        ("수십억달러", "announced"),
        ("수백만달러", "announced"),
        ("수십억달러", "planned"),  # 메이퇀 ... 쏟아붓겠다고 선언했다
        ("1000억달러", "talk"),
        ("5000억달러", "talk"),
    ]
    assert [a.value_usd for a in found[-2:]] == [1e11, 5e11]
    assert all(a.sentence > 0 for a in found)  # none in the title


def test_us_dollars_written_with_periods() -> None:
    """ "U.S. dollars" neither ends the sentence nor hides the currency."""
    [amount] = find_amounts("", "The company will spend 5 billion U.S. dollars on AI chips.")
    assert (amount.value, amount.currency, amount.value_usd) == (5e9, "USD", 5e9)
