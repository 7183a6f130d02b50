"""Counts for ``newswatch stats`` (events per topic per day, per source) and
``newswatch sources`` (each source's health)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import distinct, func, select

from db.models import ArticleRow, EntryRow, EventRow, SourceRow
from pipeline.store.database import Database


def event_stats(db: Database, since: datetime | None = None) -> dict[str, Any]:
    """Events per topic per day (by the day an event began) and per source."""
    query = select(EventRow.first_seen, EventRow.topics)
    if since is not None:
        query = query.where(EventRow.last_seen >= since)
    per_day: Counter[tuple[str, str]] = Counter()
    with db.connect() as conn:
        for first_seen, topics in conn.execute(query):
            for topic in topics or ():
                per_day[(f"{first_seen:%Y-%m-%d}", topic["name"])] += 1
        by_source = select(SourceRow.name, func.count(distinct(EventRow.id)).label("events"))
        by_source = by_source.join(ArticleRow, ArticleRow.source_id == SourceRow.id).join(
            EventRow, EventRow.id == ArticleRow.story_id
        )
        if since is not None:
            by_source = by_source.where(EventRow.last_seen >= since)
        sources = conn.execute(
            by_source.group_by(SourceRow.name).order_by(func.count(distinct(EventRow.id)).desc())
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
