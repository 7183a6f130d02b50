"""A small newsroom written for the tests: four outlets, Korean/English/Chinese, RSS/Atom/EUC-KR."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from flows.loopback import LoopbackSite
from flows.newsroom import Newsroom, Outlet, RenderOptions, Story, render_site, sources_yaml

KST = timezone(timedelta(hours=9))
CST = timezone(timedelta(hours=8))
EST = timezone(timedelta(hours=-5))

_KO = [
    (
        "딥시크 새 모델 공개",
        "딥시크가 추론 모델의 새 버전을 공개했다. 회사는 기존보다 응답 속도가 크게 빨라졌다고 "
        "설명했다. 업계는 가격 경쟁이 더 치열해질 것으로 내다봤다.",
    ),
    (
        "바이두 어니 X1 무료 개방",
        "바이두가 추론 모델 어니 X1을 일반 사용자에게 무료로 개방했다. 회사는 개발자용 "
        "API 가격도 절반 수준으로 낮췄다. 경쟁사들도 가격 인하를 검토하고 있다.",
    ),
    (
        "알리바바 클라우드 투자 확대",
        "알리바바가 앞으로 3년간 클라우드와 인공지능 인프라에 대규모 투자를 하겠다고 "
        "밝혔다. 데이터센터 확충이 핵심이다. 시장은 투자 규모에 주목했다.",
    ),
]
_EN = [
    (
        "Tencent ships Hunyuan T1 reasoning model",
        "Tencent released its Hunyuan T1 model and "
        "priced it well below Western rivals. The company says the model answers faster than "
        "earlier versions. Analysts expect more price cuts across the sector.",
    ),
    (
        "Meituan pledges billions for AI",
        "Meituan said it will spend billions of dollars on "
        "artificial intelligence over the coming years. The delivery giant plans its own models. "
        "Investors reacted calmly to the announcement.",
    ),
    (
        "Cloud providers cut token prices again",
        "Several Chinese cloud providers lowered the "
        "price of their model APIs this week. Some now charge a fraction of a dollar per million "
        "tokens. The price war shows no sign of ending.",
    ),
]
_ZH = [
    (
        "阿里巴巴发布新推理模型",
        "阿里巴巴发布了新的推理模型，并宣布向开发者开放。公司表示新模型在多项测试中"
        "表现突出。业内人士认为价格竞争将进一步加剧。",
    ),
    (
        "大模型价格战再升级",
        "多家云厂商本周再次下调大模型接口价格。部分模型每百万词元仅需几元人民币。"
        "分析人士认为行业将加速洗牌。",
    ),
]


_DETAILS = {
    "ko": [
        "업계 관계자는 이번 발표가 시장 판도에 영향을 줄 것이라고 말했다.",
        "회사는 구체적인 일정과 수치를 다음 달 공개할 계획이다.",
        "증권가에서는 관련 종목의 주가 흐름을 주시하고 있다.",
        "정부와 학계도 이번 조치의 파급 효과를 검토하고 있다.",
    ],
    "en": [
        "Industry executives said the move would reshape the market.",
        "The company plans to publish detailed figures next month.",
        "Investors are watching how rivals respond in the coming weeks.",
        "Regulators and researchers are also studying the likely effects.",
    ],
    "zh": [
        "业内人士表示，此举将改变市场格局。",
        "公司计划下个月公布详细数据。",
        "投资者正在关注竞争对手的反应。",
        "监管机构和研究人员也在评估其影响。",
    ],
}


def _paragraphs(lead: str, lang: str, n: int) -> list[str]:
    """A lead and ``n - 1`` further paragraphs, each its own sentences."""
    details = _DETAILS[lang]
    return [lead, *(f"{details[i % len(details)]} {lead[: 20 + 7 * i]}" for i in range(n - 1))]


def build_newsroom() -> Newsroom:
    """Four outlets: Korean RSS in EUC-KR, Korean Atom, English Atom, Chinese RSS 1.0."""
    outlets = [
        Outlet(
            id="hanguk-it",
            name="한국IT신문",
            lang="ko",
            feed="rss2",
            encoding="euc-kr",
            timezone="Asia/Seoul",
        ),
        Outlet(id="seoul-econ", name="서울경제일보", lang="ko", feed="atom", timezone="Asia/Seoul"),
        Outlet(
            id="model-wire", name="Model Wire", lang="en", feed="atom", timezone="America/New_York"
        ),
        Outlet(
            id="keji-daily", name="科技日报观察", lang="zh", feed="rss1", timezone="Asia/Shanghai"
        ),
    ]
    base = datetime(2025, 3, 20, 9, 0, tzinfo=KST)
    stories: list[Story] = []
    for i, (title, lead) in enumerate(_KO):
        for outlet in ("hanguk-it", "seoul-econ"):
            stories.append(
                Story(
                    outlet=outlet,
                    slug=f"ko-{i}",
                    title=f"{title} ({outlet})",
                    # The wire copy appears a little later, as syndicated copies do: the
                    # original is then the same whatever order the pages are fetched in.
                    published=base + timedelta(hours=i, minutes=0 if outlet == "hanguk-it" else 20),
                    author="김기자",
                    summary=lead[:40],
                    # The second outlet runs the first one's story as a wire copy: a wire
                    # prefix, the last paragraph dropped.
                    paragraphs=_paragraphs(lead, "ko", 5)
                    if outlet == "hanguk-it"
                    else ["(서울=통신) " + lead, *_paragraphs(lead, "ko", 5)[1:4]],
                )
            )
    for i, (title, lead) in enumerate(_EN):
        stories.append(
            Story(
                outlet="model-wire",
                slug=f"en-{i}",
                title=title,
                published=(base + timedelta(days=1, hours=i)).astimezone(EST),
                author="A. Reporter",
                summary=lead[:60],
                paragraphs=_paragraphs(lead, "en", 5),
            )
        )
    for i, (title, lead) in enumerate(_ZH):
        stories.append(
            Story(
                outlet="keji-daily",
                slug=f"zh-{i}",
                title=title,
                published=(base + timedelta(days=2, hours=i)).astimezone(CST),
                author="记者",
                summary=lead[:30],
                paragraphs=_paragraphs(lead, "zh", 5),
            )
        )
    return Newsroom(outlets=outlets, articles=stories)


def serve_newsroom(
    site: LoopbackSite,
    tmp_path: Path,
    newsroom: Newsroom | None = None,
    options: RenderOptions | None = None,
    extra_settings: dict[str, object] | None = None,
) -> Path:
    """Serve ``newsroom`` on ``site`` and write a sources file for it; return its path."""
    room = newsroom or build_newsroom()
    site.update(render_site(room, site.base_url, options).items())
    path = tmp_path / "sources.yaml"
    settings = {
        "timeout": 5.0,
        "connect_timeout": 2.0,
        "extract_workers": 2,
        **(extra_settings or {}),
    }
    path.write_text(
        sources_yaml(
            room, site.base_url, allow_host=f"127.0.0.1:{site.port}", extra_settings=settings
        ),
        encoding="utf-8",
    )
    return path


def add_sources(path: Path, sources: list[dict[str, object]]) -> None:
    """Append sources to a sources file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["sources"].extend(sources)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
