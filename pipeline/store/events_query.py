"""Tracked events for people: filtered listings and one event with its articles and evidence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select

from db.models import ArticleRow, EventRow, EventTermRow, SourceRow
from pipeline.store.database import Database


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What ``newswatch events`` and ``GET /api/events`` ask for; every field is optional."""

    topic: str | None = None
    entity: str | None = None
    country: str | None = None  # ISO code of a named company's (or model's maker's) country
    since: datetime | None = None
    until: datetime | None = None
    lang: str | None = None
    min_sources: int = 1
    limit: int = 100
    offset: int = 0


def _has_term(kind: str, value: str) -> ColumnElement[bool]:
    return exists().where(
        EventTermRow.event_id == EventRow.id,
        EventTermRow.kind == kind,
        EventTermRow.value == value.casefold(),
    )


def _in_terms(kind: str, value: str) -> ColumnElement[bool]:
    return EventRow.id.in_(
        select(EventTermRow.event_id).where(
            EventTermRow.kind == kind, EventTermRow.value == value.casefold()
        )
    )


def _matching(wanted: EventFilter, *, by_index: bool = False) -> list[ColumnElement[bool]]:
    """The WHERE conditions of ``wanted``. ``by_index`` reads the term index first (best for
    counting); otherwise events are walked latest first and each is checked, which stops
    early for a page of frequent terms."""
    conditions: list[ColumnElement[bool]] = []
    if wanted.min_sources > 1:
        conditions.append(EventRow.sources >= wanted.min_sources)
    if wanted.since is not None:
        conditions.append(EventRow.last_seen >= wanted.since)
    if wanted.until is not None:
        conditions.append(EventRow.first_seen <= wanted.until)
    terms = (
        ("topic", wanted.topic),
        ("entity", wanted.entity),
        ("country", wanted.country),
        ("lang", wanted.lang),
    )
    for kind, value in terms:
        if value:
            conditions.append(_in_terms(kind, value) if by_index else _has_term(kind, value))
    return conditions


def page_query(wanted: EventFilter) -> Select[Any]:
    """The statement of :func:`list_events` (``benchmarks/query.py`` explains it)."""
    return (
        select(EventRow)
        .where(*_matching(wanted))
        .order_by(EventRow.last_seen.desc(), EventRow.id.desc())
        .limit(wanted.limit)
        .offset(wanted.offset)
    )


def count_query(wanted: EventFilter) -> Select[Any]:
    """The statement of :func:`count_events`."""
    return select(func.count()).select_from(EventRow).where(*_matching(wanted, by_index=True))


def list_events(db: Database, wanted: EventFilter) -> list[dict[str, Any]]:
    """Events matching ``wanted``, latest activity first (one page: limit and offset)."""
    with db.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(page_query(wanted))]


def count_events(db: Database, wanted: EventFilter) -> int:
    """How many events match ``wanted`` in all pages."""
    with db.connect() as conn:
        return int(conn.execute(count_query(wanted)).scalar_one())


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
