"""Tracked events: a relevant story summarized from its articles' classifications.

Pure functions over the members of one story: the event's topics (best score, with the
sentence and article that show it), main entities, amounts, relevance, counts and a
representative article; ``None`` when the story is not relevant enough to track.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_ENTITIES = 12
MAX_AMOUNTS = 20


@dataclass(frozen=True, slots=True)
class Member:
    """One article of a story, with its stored classification."""

    id: int
    title: str
    lang: str | None
    source_id: int
    when: datetime
    original: int | None  # duplicate_of
    relevance: float
    topics: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    amounts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Event:
    """What is stored in the ``events`` table for one story."""

    id: int
    title: str
    lang: str | None
    relevance: float
    topics: list[dict[str, Any]]
    entities: list[dict[str, Any]]
    amounts: list[dict[str, Any]]
    first_seen: datetime
    last_seen: datetime
    articles: int
    sources: int
    langs: list[str]
    representative_id: int

    @property
    def digest(self) -> str:
        """Fingerprint of the material content: topics, amounts and main entities."""
        material = {
            "topics": sorted(t["name"] for t in self.topics),
            "amounts": sorted(
                {
                    (
                        a.get("value_usd") or a.get("value") or a.get("low") or 0.0,
                        a.get("currency") or "",
                        a.get("kind") or "",
                    )
                    for a in self.amounts
                }
            ),
            "entities": sorted(e["name"] for e in self.entities),
        }
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def build_event(story_id: int, members: list[Member], threshold: float) -> Event | None:
    """The event of a story, or None when no article of it reaches ``threshold``."""
    if not members:
        return None
    best = max(member.relevance for member in members)
    if best < threshold:
        return None
    ordered = sorted(members, key=lambda m: (m.when, m.id))
    originals = [m for m in ordered if m.original is None] or ordered
    representative = max(originals, key=lambda m: (m.relevance, -m.when.timestamp(), -m.id))
    return Event(
        id=story_id,
        title=representative.title,
        lang=representative.lang,
        relevance=round(best, 4),
        topics=_topics(ordered),
        entities=_entities(ordered),
        amounts=_amounts(ordered),
        first_seen=ordered[0].when,
        last_seen=ordered[-1].when,
        articles=len(members),
        sources=len({m.source_id for m in members}),
        langs=sorted({m.lang for m in members if m.lang}),
        representative_id=representative.id,
    )


def _topics(members: list[Member]) -> list[dict[str, Any]]:
    best: dict[str, dict[str, Any]] = {}
    for member in members:
        for topic in member.topics:
            known = best.get(topic["name"])
            if known is None or topic["score"] > known["score"]:
                best[topic["name"]] = {
                    "name": topic["name"],
                    "score": topic["score"],
                    "evidence": topic["evidence"],
                    "article_id": member.id,
                }
    return sorted(best.values(), key=lambda t: (-t["score"], t["name"]))


def _entities(members: list[Member]) -> list[dict[str, Any]]:
    articles: Counter[str] = Counter()
    mentions: Counter[str] = Counter()
    kinds: dict[str, str] = {}
    countries: dict[str, str] = {}
    for member in members:
        for entity in member.entities:
            articles[entity["name"]] += 1
            mentions[entity["name"]] += entity.get("mentions", 0)
            kinds[entity["name"]] = entity["kind"]
            if entity.get("country"):
                countries[entity["name"]] = entity["country"]
    ranked = sorted(articles, key=lambda n: (-articles[n], -mentions[n], n))[:MAX_ENTITIES]
    found = []
    for name in ranked:
        shown: dict[str, Any] = {"name": name, "kind": kinds[name], "articles": articles[name]}
        if name in countries:
            shown["country"] = countries[name]
        found.append(shown)
    return found


def _amounts(members: list[Member]) -> list[dict[str, Any]]:
    # The same figure reported by several articles is one amount (the earliest report).
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for member in members:
        for amount in member.amounts:
            key = (
                amount.get("value"),
                amount.get("low"),
                amount.get("currency"),
                amount.get("unit"),
                amount.get("kind"),
            )
            seen.setdefault(key, {**amount, "article_id": member.id})
    return list(seen.values())[:MAX_AMOUNTS]
