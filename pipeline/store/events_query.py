"""Tracked events for people: filtered listings and one event with its articles and evidence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from db.models import ArticleRow, EventRow, SourceRow
from pipeline.store.database import Database


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What ``newswatch events`` asks for; every field is optional."""

    topic: str | None = None
    entity: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    lang: str | None = None
    min_sources: int = 1
    limit: int = 100

    def admits(self, event: dict[str, Any]) -> bool:
        """The conditions kept in JSON columns (topics, entities, languages)."""
        if self.topic and self.topic not in {t["name"] for t in event["topics"] or ()}:
            return False
        if self.entity:
            wanted = self.entity.casefold()
            names = {str(e["name"]).casefold() for e in event["entities"] or ()}
            if wanted not in names:
                return False
        return not self.lang or self.lang in (event["langs"] or ())


def list_events(db: Database, wanted: EventFilter) -> list[dict[str, Any]]:
    """Events matching ``wanted``, latest activity first."""
    query = select(EventRow).where(EventRow.sources >= wanted.min_sources)
    if wanted.since is not None:
        query = query.where(EventRow.last_seen >= wanted.since)
    if wanted.until is not None:
        query = query.where(EventRow.first_seen <= wanted.until)
    query = query.order_by(EventRow.last_seen.desc(), EventRow.id.desc())
    found: list[dict[str, Any]] = []
    with db.connect() as conn:
        for row in conn.execute(query.execution_options(yield_per=500)):
            event = dict(row._mapping)
            if wanted.admits(event):
                found.append(event)
                if len(found) >= wanted.limit:
                    break
    return found


def event_detail(db: Database, event_id: int) -> dict[str, Any] | None:
    """One event with its articles: source, language, dates, copy decision and labels."""
    with db.connect() as conn:
        row = conn.execute(select(EventRow).where(EventRow.id == event_id)).first()
        if row is None:
            return None
        event = dict(row._mapping)
        articles = conn.execute(
            select(
                ArticleRow.id,
                ArticleRow.url,
                ArticleRow.title,
                ArticleRow.lang,
                ArticleRow.published_at,
                SourceRow.name.label("source"),
                ArticleRow.duplicate_of,
                ArticleRow.copy_method,
                ArticleRow.copy_similarity,
                ArticleRow.topics,
                ArticleRow.amounts,
            )
            .join(SourceRow, SourceRow.id == ArticleRow.source_id)
            .where(ArticleRow.story_id == event_id)
            .order_by(ArticleRow.published_at, ArticleRow.id)
        )
        event["article_list"] = [dict(a._mapping) for a in articles]
    return event
