"""One article in, its classification out: topics with evidence, entities, amounts, relevance.

The tables come from ``seeds/`` (topics.yaml, entities.yaml, rates.yaml and the seed
documents); a :class:`Classifier` is built once per step and then is a pure function of the
article's title, text and language.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.amounts import Amount, find_amounts
from pipeline.entities import EntityTable, load_entities, unknown_names
from pipeline.relevance import SeedProfile, relevance, seed_profile, trigrams
from pipeline.seedfile import parse_yaml, read_text, validate
from pipeline.topics import TopicLabel, TopicTable, load_topics, sentences


@dataclass(frozen=True, slots=True)
class Classification:
    """What an article reports."""

    topics: tuple[TopicLabel, ...]
    entities: tuple[tuple[str, str, int, str | None], ...]  # name, kind, mentions, country
    amounts: tuple[Amount, ...]
    relevance: float
    unknown: tuple[str, ...]

    def topics_json(self) -> list[dict[str, Any]]:
        """Topics as stored and exported in full."""
        return [{"name": t.name, "score": t.score, "evidence": t.evidence} for t in self.topics]

    def entities_json(self) -> list[dict[str, Any]]:
        """Entities as stored: name, kind, mentions, and country when known."""
        stored: list[dict[str, Any]] = []
        for name, kind, mentions, country in self.entities:
            entity: dict[str, Any] = {"name": name, "kind": kind, "mentions": mentions}
            if country:
                entity["country"] = country
            stored.append(entity)
        return stored


class _RatesModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)

    as_of: date
    usd_per_unit: dict[str, float] = Field(default_factory=dict)


def load_rates(path: str | os.PathLike[str]) -> dict[str, float]:
    """USD per unit of each currency, from a dated rate table."""
    file = str(path)
    data, lines = parse_yaml(read_text(path, "rate table"), file)
    return dict(validate(_RatesModel, data or {}, lines, file).usd_per_unit)


def sentence_kinds(amounts: Iterable[Amount]) -> dict[int, set[str]]:
    """The kinds of amount in each sentence."""
    kinds: dict[int, set[str]] = {}
    for amount in amounts:
        kinds.setdefault(amount.sentence, set()).add(amount.kind)
    return kinds


@dataclass(frozen=True)
class Classifier:
    """Topic, entity and rate tables with the seed profile."""

    topics: TopicTable
    entities: EntityTable
    rates: dict[str, float]
    seed: SeedProfile

    @classmethod
    def from_seeds(cls, seeds: Path) -> Classifier:
        """Load every table from the seeds folder."""
        topics = load_topics(seeds / "topics.yaml")
        entities = load_entities(seeds / "entities.yaml")
        rates = load_rates(seeds / "rates.yaml") if (seeds / "rates.yaml").exists() else {}
        documents = sorted({p for pattern in topics.seed_patterns for p in seeds.glob(pattern)})
        texts = [read_text(p, "seed document") for p in documents]
        unseeded = cls(topics, entities, rates, SeedProfile(frozenset(), frozenset(), {}))
        return cls(topics, entities, rates, seed_profile(texts, entities, unseeded.topics_of))

    @property
    def threshold(self) -> float:
        """The relevance from which a story becomes a tracked event."""
        return self.topics.relevance_threshold

    def ai_sentences(self, title: str, text: str) -> set[int]:
        """Indexes of the sentences (0 = title) that name an AI model, product or lab."""
        table = self.entities.entities
        return {
            index
            for index, sentence in enumerate(sentences(title, text))
            if any(table[name].about_ai for name in self.entities.find(sentence))
        }

    def topics_of(
        self, title: str, text: str, amounts: Iterable[Amount] | None = None
    ) -> list[TopicLabel]:
        """The topics of an article (amounts are found when not given)."""
        found = find_amounts(title, text, self.rates) if amounts is None else amounts
        return self.topics.classify(
            title, text, self.ai_sentences(title, text), sentence_kinds(found)
        )

    def classify(self, title: str, text: str, lang: str | None) -> Classification:
        """Classify one article."""
        whole = f"{title}\n{text}"
        found = self.entities.find(whole)
        named = self.entities.with_makers(found)
        amounts = tuple(find_amounts(title, text, self.rates))
        labels = tuple(self.topics_of(title, text, amounts))
        score = relevance(
            entities=named,
            labels=labels,
            anchors=self.topics.anchor_count(whole),
            grams=trigrams(whole),
            lang=lang,
            seed=self.seed,
        )
        table = self.entities.entities
        listed = tuple(
            sorted(
                ((n, table[n].kind, found.get(n, 0), table[n].country) for n in named),
                key=lambda item: (-item[2], item[0]),
            )
        )
        return Classification(
            labels, listed, amounts, score, tuple(sorted(unknown_names(whole, self.entities)))
        )
