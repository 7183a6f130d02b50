"""Generated newsrooms for benchmarks: N articles with the weight of real news pages.

Deterministic (seeded): the same N gives the same pages. Each page has at least five paragraphs
and, with the default padding, 60 KB or more of HTML: navigation menus, inline scripts, ad slots,
related-story lists, a footer. Articles are 70 % English, 20 % Korean, 10 % Chinese, 50 per feed.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from flows.newsroom import Newsroom, Outlet, Story

_EN_WORDS = [
    "model",
    "launch",
    "pricing",
    "investment",
    "cloud",
    "token",
    "reasoning",
    "benchmark",
    "startup",
    "chip",
    "data",
    "center",
    "inference",
    "open",
    "source",
    "release",
    "upgrade",
    "developer",
    "revenue",
    "valuation",
    "funding",
    "round",
    "market",
    "analyst",
    "competition",
    "price",
    "cut",
    "discount",
    "enterprise",
    "agent",
    "search",
    "assistant",
    "platform",
    "compute",
    "training",
    "capacity",
    "customers",
    "regulators",
    "partnership",
    "announced",
    "quarter",
    "billion",
    "million",
]
_KO_WORDS = [
    "인공지능",
    "모델",
    "출시",
    "가격",
    "인하",
    "투자",
    "클라우드",
    "데이터센터",
    "추론",
    "오픈소스",
    "개발자",
    "시장",
    "경쟁",
    "기업",
    "발표",
    "공개",
    "서비스",
    "요금",
    "반도체",
    "수익",
    "전망",
    "업계",
    "분석",
    "확대",
    "전략",
    "플랫폼",
]
_ZH_WORDS = list(
    "人工智能大模型发布价格下调投资云计算数据中心推理开源开发者市场竞争企业宣布服务芯片收入"
)


def _sentence(rng: random.Random, lang: str) -> str:
    if lang == "zh":
        return "".join(rng.choice(_ZH_WORDS) for _ in range(rng.randint(18, 40))) + "。"
    words = _KO_WORDS if lang == "ko" else _EN_WORDS
    text = " ".join(rng.choice(words) for _ in range(rng.randint(10, 22)))
    return text[0].upper() + text[1:] + "."


def generate(
    n: int,
    *,
    seed: int = 7,
    per_feed: int = 50,
    start: datetime = datetime(2025, 3, 1, tzinfo=UTC),
    every: timedelta = timedelta(minutes=7),
) -> Newsroom:
    """A newsroom of ``n`` articles over ``ceil(n / per_feed)`` feeds, published ``every``
    apart from ``start``."""
    rng = random.Random(seed)
    feeds = max(1, -(-n // per_feed))
    outlets: list[Outlet] = []
    for index in range(feeds):
        roll = index % 10
        lang = "ko" if roll in (1, 6) else "zh" if roll == 3 else "en"
        kind = ("rss2", "atom", "rss1")[index % 3]
        zone = {"ko": "Asia/Seoul", "zh": "Asia/Shanghai"}.get(lang, "UTC")
        outlets.append(
            Outlet(
                id=f"outlet-{index:04d}",
                name=f"Outlet {index}",
                lang=lang,
                feed=kind,
                encoding="euc-kr" if lang == "ko" and index % 4 == 1 else "utf-8",
                timezone=zone,
            )
        )
    stories: list[Story] = []
    for number in range(n):
        outlet = outlets[number // per_feed]
        paragraphs = [
            " ".join(_sentence(rng, outlet.lang) for _ in range(rng.randint(3, 5)))
            for _ in range(rng.randint(5, 8))
        ]
        stories.append(
            Story(
                outlet=outlet.id,
                slug=f"story-{number:06d}",
                published=start + every * number,
                title=_sentence(rng, outlet.lang)[:90],
                author="Staff",
                summary=paragraphs[0][:160],
                paragraphs=paragraphs,
            )
        )
    return Newsroom(outlets=outlets, articles=stories)
