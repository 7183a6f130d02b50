"""The clustering step: every stored article not yet clustered becomes a copy or a story member.

Articles are taken oldest first (published, then fetched, then id) in chunks, each chunk in one
exclusive transaction, so that concurrent collects (a schedule and a backfill) never decide at
once. The same articles give the same copies and the same story ids: a story's id is the id of
the article that opened it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pipeline import dedupe, stories
from pipeline.entities import EntityTable
from pipeline.features import Features, features
from pipeline.store import clusters
from pipeline.store.clusters import Pending
from pipeline.store.database import Database

log = logging.getLogger(__name__)
LOCK = "newswatch.cluster"


@dataclass(slots=True)
class ClusterReport:
    """What a clustering step did."""

    articles: int = 0
    copies: int = 0
    new_stories: int = 0
    joined: int = 0


def _features(item: Pending, entities: EntityTable) -> Features:
    return features(
        article_id=item.id,
        source=item.source,
        lang=item.lang,
        when=item.when,
        fetched=item.fetched,
        title=item.title,
        text=item.text,
        fingerprint=item.fingerprint,
        entities=entities,
    )


def cluster_pending(
    db: Database,
    entities: EntityTable,
    now: datetime,
    *,
    chunk: int = 200,
    params: stories.Params | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> ClusterReport:
    """Cluster every article not clustered yet; safe to run concurrently and to re-run."""
    report = ClusterReport()
    kinds = {name: entity.kind for name, entity in entities.entities.items()}
    chosen = params or stories.Params()
    while True:
        with db.begin_exclusive(LOCK) as conn:
            batch = clusters.pending(conn, chunk)
            for item in batch:
                _place(conn, db, _features(item, entities), kinds, chosen, now, report)
        report.articles += len(batch)
        if on_chunk is not None and batch:
            on_chunk(len(batch))
        if len(batch) < chunk:
            return report


def recluster(
    db: Database,
    entities: EntityTable,
    now: datetime,
    *,
    since: datetime | None = None,
    params: stories.Params | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> ClusterReport:
    """Forget copies and stories of articles since ``since`` (and of their stories), then
    cluster them again."""
    with db.begin_exclusive(LOCK) as conn:
        forgotten = clusters.reset(conn, since)
    log.info("recluster reset articles=%d since=%s", forgotten, since)
    return cluster_pending(db, entities, now, params=params, on_chunk=on_chunk)


def _place(
    conn: clusters.Connection,
    db: Database,
    article: Features,
    kinds: dict[str, str],
    params: stories.Params,
    now: datetime,
    report: ClusterReport,
) -> None:
    decision = dedupe.decide(
        article.id, article.when, article.fetched, clusters.copy_roots(conn, article)
    )
    clusters.save_sketch(conn, db, article)
    if decision is not None:
        report.copies += 1
        _place_copy(conn, db, article, decision, now)
        return
    match = stories.choose(article, clusters.candidate_stories(conn, article), kinds, params)
    if match is None:
        story = clusters.open_story(conn, db, article, now)
        report.new_stories += 1
        clusters.join_story(
            conn, db, story, article, score=None, evidence={"opened": True}, now=now
        )
        return
    report.joined += 1
    clusters.join_story(
        conn, db, match.story_id, article, score=match.score, evidence=match.evidence, now=now
    )


def _place_copy(
    conn: clusters.Connection,
    db: Database,
    article: Features,
    decision: dedupe.CopyDecision,
    now: datetime,
) -> None:
    evidence = {"copy": decision.method, "similarity": round(decision.similarity, 3)}
    if decision.original is None:
        # The new article was published first: the old originals now copy it.
        for old in decision.demoted:
            clusters.demote(conn, old, article.id, decision.method, decision.similarity)
        original = article.id
    else:
        original = decision.original
        clusters.set_copy(conn, article.id, original, decision.method, decision.similarity)
        for old in decision.demoted:
            clusters.demote(conn, old, original, "near", decision.similarity)
    story = decision.story_id
    if story is None:
        story = clusters.open_story(conn, db, article, now)
    clusters.join_story(
        conn,
        db,
        story,
        article,
        score=None,
        evidence={**evidence, "original": original},
        now=now,
        add_keys=False,
    )
    # Copies in other stories (a group found to be one only now) move to the group's story.
    for other in clusters.stories_of_group(conn, original):
        clusters.merge_stories(conn, db, story, other, now)
