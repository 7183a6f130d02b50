"""One article in, its classification out: topics with evidence, entities, amounts, relevance.

The tables come from ``seeds/`` (topics.yaml, entities.yaml, rates.yaml and the seed
documents); a :class:`Classifier` is built once per step and then is a pure function of the
article's title, text and language.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.amounts import Amount, find_amounts
from pipeline.entities import EntityTable, load_entities, unknown_names
from pipeline.relevance import SeedProfile, relevance, seed_profile, trigrams
from pipeline.seedfile import parse_yaml, read_text, validate
from pipeline.topics import TopicLabel, TopicTable, load_topics


@dataclass(frozen=True, slots=True)
class Classification:
    """What an article reports."""

    topics: tuple[TopicLabel, ...]
    entities: tuple[tuple[str, str, int], ...]  # name, kind, mentions
    amounts: tuple[Amount, ...]
    relevance: float
    unknown: tuple[str, ...]

    def topics_json(self) -> list[dict[str, Any]]:
        """Topics as stored and exported in full."""
        return [{"name": t.name, "score": t.score, "evidence": t.evidence} for t in self.topics]

    def entities_json(self) -> list[dict[str, Any]]:
        """Entities as stored: name, kind, mentions."""
        return [{"name": n, "kind": k, "mentions": m} for n, k, m in self.entities]


class _RatesModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)

    as_of: date
    usd_per_unit: dict[str, float] = Field(default_factory=dict)


def load_rates(path: str | os.PathLike[str]) -> dict[str, float]:
    """USD per unit of each currency, from a dated rate table."""
    file = str(path)
    data, lines = parse_yaml(read_text(path, "rate table"), file)
    return dict(validate(_RatesModel, data or {}, lines, file).usd_per_unit)


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
        return cls(topics, entities, rates, seed_profile(texts, entities, topics))

    @property
    def threshold(self) -> float:
        """The relevance from which a story becomes a tracked event."""
        return self.topics.relevance_threshold

    def classify(self, title: str, text: str, lang: str | None) -> Classification:
        """Classify one article."""
        whole = f"{title}\n{text}"
        found = self.entities.find(whole)
        named = self.entities.with_makers(found)
        ai_names = [n for n in named if self.entities.entities[n].kind in ("model", "product")]
        labels = tuple(self.topics.classify(title, text, ai_names))
        amounts = tuple(find_amounts(title, text, self.rates))
        score = relevance(
            entities=named,
            labels=labels,
            anchors=self.topics.anchor_count(whole),
            grams=trigrams(whole),
            lang=lang,
            seed=self.seed,
        )
        kinds = {n: self.entities.entities[n].kind for n in named}
        listed = tuple(
            sorted(
                ((n, kinds[n], found.get(n, 0)) for n in named),
                key=lambda item: (-item[2], item[0]),
            )
        )
        return Classification(
            labels, listed, amounts, score, tuple(sorted(unknown_names(whole, self.entities)))
        )
