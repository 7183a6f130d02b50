"""Relevance 0..1: how close an article is to the seed documents, in any of the three languages.

Four signals, each 0..1, combined as independent evidence (1 - product of their complements):
the entities the article shares with the seeds (aliases resolved, so 딥시크 in a seed counts for
DeepSeek in an English article), the strength of the seed's topics in the article, the density
of AI terms, and character-trigram similarity with a seed in the article's own language.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from pipeline import minhash
from pipeline.entities import EntityTable
from pipeline.lang import detect_lang
from pipeline.topics import TopicLabel


@dataclass(frozen=True, slots=True)
class Weights:
    """How much each signal can add (tuned on the labelled dev split)."""

    entities: float = 0.45
    topics: float = 0.45
    anchors: float = 0.3
    similarity: float = 0.4
    entity_saturation: int = 3  # shared entities that count as full overlap
    anchor_saturation: int = 4  # AI terms that count as full density


def trigrams(text: str) -> Counter[str]:
    """Character trigram counts of the text's letters and digits."""
    norm = minhash.normalize_text(text)
    return Counter(norm[i : i + 3] for i in range(len(norm) - 2))


def _cosine(first: Mapping[str, int], second: Mapping[str, int]) -> float:
    if not first or not second:
        return 0.0
    dot = sum(count * second.get(gram, 0) for gram, count in first.items())
    norms = math.sqrt(sum(c * c for c in first.values())) * math.sqrt(
        sum(c * c for c in second.values())
    )
    return dot / norms if norms else 0.0


@dataclass(frozen=True, slots=True)
class SeedProfile:
    """What relevance compares with: the seeds' entities, topics and trigrams per language."""

    entities: frozenset[str]
    topics: frozenset[str]
    grams: Mapping[str, Counter[str]]


def seed_profile(
    documents: Iterable[str],
    entities: EntityTable,
    topics_of: Callable[[str, str], Iterable[TopicLabel]],
) -> SeedProfile:
    """A profile of the seed documents (title on the first line)."""
    names: set[str] = set()
    labels: set[str] = set()
    grams: dict[str, Counter[str]] = {}
    for document in documents:
        title, _, text = document.partition("\n")
        names |= entities.with_makers(entities.find(document))
        labels |= {label.name for label in topics_of(title, text)}
        lang = detect_lang(document) or "und"
        grams.setdefault(lang, Counter()).update(trigrams(document))
    return SeedProfile(frozenset(names), frozenset(labels), grams)


def relevance(
    *,
    entities: Iterable[str],
    labels: Iterable[TopicLabel],
    anchors: int,
    grams: Mapping[str, int],
    lang: str | None,
    seed: SeedProfile,
    weights: Weights = Weights(),
) -> float:
    """The relevance of an article to the seed profile (0..1)."""
    shared = len(set(entities) & seed.entities)
    signals = [
        weights.entities * min(1.0, shared / weights.entity_saturation),
        weights.topics
        * max((label.score for label in labels if label.name in seed.topics), default=0.0),
        weights.anchors * min(1.0, anchors / weights.anchor_saturation),
    ]
    if lang is not None and lang in seed.grams:
        signals.append(weights.similarity * min(1.0, 2 * _cosine(grams, seed.grams[lang])))
    missing = 1.0
    for signal in signals:
        missing *= 1.0 - signal
    return round(1.0 - missing, 4)
