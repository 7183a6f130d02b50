"""The labelled dedupe/story set in ``tests/data/dedupe``: loading it, storing it, scoring it.

Shared by ``benchmarks/dedupe.py`` (prints the figures) and ``tests/test_clustering.py`` (holds
the targets). Articles are stored and clustered in the order a crawler would have fetched them,
in runs of six hours, so that late-arriving originals and copies fetched first are exercised.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from db.models import ArticleRow
from pipeline.cluster import cluster_pending
from pipeline.entities import EntityTable
from pipeline.extract import fingerprint
from pipeline.records import Article, Entry, PageOutcome, Source
from pipeline.store.database import Database
from pipeline.store.entries import register_entries, save_outcomes
from pipeline.store.runs import start_run
from pipeline.store.sources import sync_sources

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "dedupe"
RUN_EVERY = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class Labelled:
    """One labelled article."""

    id: str
    lang: str
    source: str
    url: str
    published: datetime
    fetched: datetime
    title: str
    text: str
    story: str
    copy_of: str | None


def load(split: str) -> list[Labelled]:
    """Articles of ``dev`` or ``holdout``."""
    data: dict[str, Any] = yaml.safe_load((DATA / f"{split}.yaml").read_text(encoding="utf-8"))
    return [
        Labelled(
            a["id"],
            a["lang"],
            a["source"],
            a["url"],
            _aware(a["published"]),
            _aware(a["fetched"]),
            a["title"],
            a["text"],
            a["story"],
            a.get("copy_of"),
        )
        for a in data["articles"]
    ]


def _aware(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"date without offset: {value!r}")
    return parsed


def store_and_cluster(
    db: Database, articles: list[Labelled], entities: EntityTable
) -> dict[str, int]:
    """Store the articles run by run (fetch order) and cluster after each run; label -> id."""
    sources = sorted({a.source for a in articles})
    ids = {
        k: v.id
        for k, v in sync_sources(
            db, [Source(s, f"https://{s}.example/feed") for s in sources], articles[0].fetched
        ).items()
    }
    ordered = sorted(articles, key=lambda a: (a.fetched, a.id))
    start = ordered[0].fetched
    for _, group in itertools.groupby(ordered, key=lambda a: (a.fetched - start) // RUN_EVERY):
        batch = list(group)
        now = batch[-1].fetched
        run = start_run(db, now)
        entries = [
            Entry(a.source, a.url, a.url, a.title, published_at=a.published, lang=a.lang)
            for a in batch
        ]
        register_entries(db, entries, ids, now)
        outcomes = [
            PageOutcome(
                e,
                article=Article(
                    url=a.url,
                    final_url=a.url,
                    canonical_url=a.url,
                    source=a.source,
                    title=a.title,
                    text=a.text.strip(),
                    lang=a.lang,
                    published_at=a.published,
                    fetched_at=a.fetched,
                    fingerprint=fingerprint(a.text.strip()),
                ),
            )
            for e, a in zip(entries, batch, strict=True)
        ]
        save_outcomes(db, outcomes, ids, run, 3, now)
        cluster_pending(db, entities, now)
    with db.connect() as conn:
        by_url = dict(conn.execute(select(ArticleRow.canonical_url, ArticleRow.id)).all())
    return {a.id: by_url[a.url] for a in articles}


@dataclass(frozen=True, slots=True)
class Scores:
    """Pairwise precision and recall."""

    precision: float
    recall: float
    predicted: int
    expected: int

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def pairs(groups: Iterable[Iterable[str]]) -> set[frozenset[str]]:
    """Unordered pairs of members of the same group."""
    found: set[frozenset[str]] = set()
    for group in groups:
        found.update(frozenset(p) for p in itertools.combinations(sorted(group), 2))
    return found


def compare(predicted: set[frozenset[str]], expected: set[frozenset[str]]) -> Scores:
    """Pairwise scores (1.0 when a side is empty, by convention)."""
    hits = len(predicted & expected)
    return Scores(
        hits / len(predicted) if predicted else 1.0,
        hits / len(expected) if expected else 1.0,
        len(predicted),
        len(expected),
    )


def evaluate(db: Database, articles: list[Labelled], ids: dict[str, int]) -> dict[str, Any]:
    """Copies and stories scores, and how many copies point at the labelled original."""
    label_of = {v: k for k, v in ids.items()}
    with db.connect() as conn:
        rows = conn.execute(
            select(ArticleRow.id, ArticleRow.duplicate_of, ArticleRow.story_id).where(
                ArticleRow.id.in_(list(ids.values()))
            )
        ).all()
    copy_groups: dict[int, set[str]] = defaultdict(set)
    story_groups: dict[int | None, set[str]] = defaultdict(set)
    originals: dict[str, str | None] = {}
    for ident, original, story in rows:
        copy_groups[original or ident].add(label_of[ident])
        story_groups[story if story is not None else -ident].add(label_of[ident])
        originals[label_of[ident]] = label_of.get(original) if original else None
    expected_copies: dict[str, set[str]] = defaultdict(set)
    expected_stories: dict[str, set[str]] = defaultdict(set)
    for article in articles:
        expected_copies[article.copy_of or article.id].add(article.id)
        expected_stories[article.story].add(article.id)
    copies = compare(pairs(copy_groups.values()), pairs(expected_copies.values()))
    story_scores = compare(pairs(story_groups.values()), pairs(expected_stories.values()))
    labelled = [a for a in articles if a.copy_of]
    right = sum(1 for a in labelled if originals.get(a.id) == a.copy_of)
    return {"copies": copies, "stories": story_scores, "originals_right": (right, len(labelled))}
