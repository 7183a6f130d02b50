"""Counts for ``newswatch stats`` (events per topic per day, per source) and
``newswatch sources`` (each source's health)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import distinct, func, select

from db.models import ArticleRow, EntryRow, EventRow, EventTermRow, SourceRow
from pipeline.store.database import Database


def event_stats(db: Database, since: datetime | None = None) -> dict[str, Any]:
    """Events per topic per day (by the day an event began) and per source."""
    topics = select(EventRow.first_seen, EventTermRow.value).join(
        EventTermRow, (EventTermRow.event_id == EventRow.id) & (EventTermRow.kind == "topic")
    )
    if since is not None:
        topics = topics.where(EventRow.last_seen >= since)
    per_day: Counter[tuple[str, str]] = Counter()
    with db.connect() as conn:
        for first_seen, topic in conn.execute(topics):
            per_day[(f"{first_seen:%Y-%m-%d}", topic)] += 1
        # events -> their articles by (story_id, source_id) alone: ix_articles_story_source
        # answers without reading article rows
        events = func.count(distinct(ArticleRow.story_id))
        by_source = (
            select(SourceRow.name, events.label("events"))
            .select_from(EventRow)
            .join(ArticleRow, ArticleRow.story_id == EventRow.id)
            .join(SourceRow, SourceRow.id == ArticleRow.source_id)
        )
        if since is not None:
            by_source = by_source.where(EventRow.last_seen >= since)
        sources = conn.execute(
            by_source.group_by(SourceRow.name).order_by(events.desc(), SourceRow.name)
        ).all()
    return {
        "per_topic_per_day": [
            {"day": day, "topic": topic, "events": count}
            for (day, topic), count in sorted(per_day.items())
        ],
        "per_source": [{"source": name, "events": int(n)} for name, n in sources],
    }


def source_report(db: Database) -> list[dict[str, Any]]:
    """Every source with its kind, last poll and success, failures in a row, last error, and
    how many entries and articles it brought."""
    entries = (
        select(EntryRow.source_id, func.count().label("entries"))
        .group_by(EntryRow.source_id)
        .subquery()
    )
    articles = (
        select(ArticleRow.source_id, func.count().label("articles"))
        .group_by(ArticleRow.source_id)
        .subquery()
    )
    query = (
        select(
            SourceRow.name,
            SourceRow.kind,
            SourceRow.url,
            SourceRow.last_polled_at,
            SourceRow.last_success_at,
            SourceRow.last_status,
            SourceRow.consecutive_failures,
            SourceRow.last_error,
            func.coalesce(entries.c.entries, 0).label("entries"),
            func.coalesce(articles.c.articles, 0).label("articles"),
        )
        .outerjoin(entries, entries.c.source_id == SourceRow.id)
        .outerjoin(articles, articles.c.source_id == SourceRow.id)
        .order_by(SourceRow.consecutive_failures.desc(), SourceRow.name)
    )
    with db.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]
