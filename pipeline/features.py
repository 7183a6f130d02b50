"""What the copy detector and the story clusterer know about an article.

Computed from the stored title and text, so re-clustering never needs the network: the MinHash
sketch and its band keys, the entities (aliases resolved, makers added), the entities of the
headline and lead, the amount/percentage/code keys, the title's character grams, and the kind of
event the headline announces.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from pipeline import minhash
from pipeline.entities import EntityTable
from pipeline.mentions import mention_keys

LEAD_CHARS = 400  # the lead: the first characters of the text

# Event cues in headlines and leads, per language. An article announcing a price cut and one
# announcing a launch by the same company two days apart are two stories.
_EVENTS: dict[str, tuple[str, ...]] = {
    "launch": (
        "launch",
        "release",
        "unveil",
        "debut",
        "introduc",
        "rolls out",
        "open-source",
        "open source",
        "출시",
        "공개",
        "선보",
        "내놓",
        "발표",
        "오픈소스",
        "发布",
        "推出",
        "上线",
        "开源",
        "亮相",
    ),
    "price": (
        "price",
        "pricing",
        "discount",
        "cheaper",
        "cut",
        "free",
        "off-peak",
        "가격",
        "인하",
        "할인",
        "무료",
        "요금",
        "价格",
        "降价",
        "免费",
        "优惠",
        "折扣",
        "价格战",
    ),
    "funding": (
        "funding",
        "raise",
        "raising",
        "valuation",
        "round",
        "investors",
        "투자 유치",
        "투자유치",
        "밸류",
        "기업가치",
        "라운드",
        "融资",
        "估值",
        "轮",
    ),
    "spending": (
        "invest",
        "spend",
        "capex",
        "pledge",
        "infrastructure",
        "data center",
        "투자",
        "투입",
        "데이터센터",
        "인프라",
        "投资",
        "投入",
        "基础设施",
        "数据中心",
    ),
    "earnings": (
        "profit",
        "margin",
        "revenue",
        "earnings",
        "quarterly",
        "이익",
        "이익률",
        "매출",
        "실적",
        "영업이익",
        "利润",
        "利润率",
        "营收",
        "财报",
        "盈利",
    ),
    "policy": (
        "ban",
        "block",
        "restrict",
        "export control",
        "regulat",
        "차단",
        "금지",
        "규제",
        "禁止",
        "限制",
        "管制",
        "监管",
    ),
}
_SPACE = re.compile(r"\s+")


def _cue_pattern(cues: tuple[str, ...]) -> re.Pattern[str]:
    # Latin cues start a word ("introduc" is a prefix on purpose): as bare substrings, "cut"
    # was found in "executive", "round" in "around", "raise" in "praise", "ban" in "urban".
    # Korean and Chinese cues match anywhere: particles attach, and there are no spaces.
    parts = [
        (r"(?<![a-z0-9])" if cue[:1].isascii() and cue[:1].isalnum() else "") + re.escape(cue)
        for cue in cues
    ]
    return re.compile("|".join(parts))


_EVENT_PATTERNS = {kind: _cue_pattern(cues) for kind, cues in _EVENTS.items()}


@dataclass(frozen=True, slots=True)
class Features:
    """One article, as the clusterer sees it."""

    id: int
    source: str
    lang: str | None
    when: datetime
    fetched: datetime
    title: str
    fingerprint: str
    sketch: minhash.Sketch
    bands: tuple[int, ...]
    entities: frozenset[str]
    headline_entities: frozenset[str]
    title_entities: frozenset[str]
    actor: str | None  # the company first named in the headline (or the lead)
    keys: frozenset[str]
    title_grams: frozenset[str]
    events: frozenset[str]


def lead(text: str) -> str:
    """The first ``LEAD_CHARS`` characters of ``text``: its headline paragraph or two."""
    return text[:LEAD_CHARS]


@lru_cache(maxsize=8192)
def title_grams(title: str) -> frozenset[str]:
    """Character bigrams of the title's letters and digits (works for every script).

    Cached: the same candidate stories, and so the same headlines, come back article after
    article while a clustering step walks through a busy news day.
    """
    norm = minhash.normalize_text(title)
    return frozenset(norm[i : i + 2] for i in range(len(norm) - 1))


def events_of(text: str) -> frozenset[str]:
    """The kinds of event a headline or lead announces."""
    folded = _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold())
    return frozenset(kind for kind, cue in _EVENT_PATTERNS.items() if cue.search(folded))


def features(
    *,
    article_id: int,
    source: str,
    lang: str | None,
    when: datetime,
    fetched: datetime,
    title: str,
    text: str,
    fingerprint: str,
    entities: EntityTable,
) -> Features:
    """Features of one stored article."""
    sketch = minhash.sketch(text)
    found = entities.find(f"{title}\n{text}")
    head = entities.find(f"{title}\n{lead(text)}")
    in_title = entities.find(title)
    actor = entities.main_actor(in_title) or entities.main_actor(head)
    return Features(
        id=article_id,
        source=source,
        lang=lang,
        when=when,
        fetched=fetched,
        title=title,
        fingerprint=fingerprint,
        sketch=sketch,
        bands=tuple(minhash.band_keys(sketch)),
        entities=frozenset(entities.with_makers(found)),
        headline_entities=frozenset(entities.with_makers(head)),
        title_entities=frozenset(entities.with_makers(in_title)),
        actor=actor,
        keys=frozenset(mention_keys(f"{title}\n{text}")),
        title_grams=title_grams(title),
        events=events_of(f"{title}\n{lead(text)}"),
    )
