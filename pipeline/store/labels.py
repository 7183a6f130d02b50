"""SQL of classification: article labels, tracked events, unknown model names."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

__all__ = ["Connection"]

from db.models import ArticleRow, EventRow, StoryRow
from pipeline.classify import Classification
from pipeline.events import Event, Member
from pipeline.store.database import Database, insert
from pipeline.store.event_terms import term_rows, write_terms

_WHEN = func.coalesce(ArticleRow.published_at, ArticleRow.fetched_at)


@dataclass(frozen=True, slots=True)
class Unlabelled:
    """An article to classify."""

    id: int
    title: str
    text: str
    lang: str | None
    story_id: int | None


def unclassified(conn: Connection, limit: int) -> list[Unlabelled]:
    """Articles not classified yet, oldest id first."""
    rows = conn.execute(
        select(
            ArticleRow.id, ArticleRow.title, ArticleRow.text, ArticleRow.lang, ArticleRow.story_id
        )
        .where(ArticleRow.classified_at.is_(None))
        .order_by(ArticleRow.id)
        .limit(limit)
    )
    return [Unlabelled(*row) for row in rows]


def save_classification(
    conn: Connection, article_id: int, result: Classification, now: datetime
) -> None:
    """Store an article's topics, entities, amounts, relevance and unknown names."""
    conn.execute(
        update(ArticleRow)
        .where(ArticleRow.id == article_id)
        .values(
            topics=result.topics_json(),
            entities=result.entities_json(),
            amounts=[a.as_dict() for a in result.amounts],
            unknown_names=list(result.unknown),
            relevance=result.relevance,
            classified_at=now,
        )
    )


def members(conn: Connection, story_id: int) -> list[Member]:
    """The classified articles of a story."""
    rows = conn.execute(
        select(
            ArticleRow.id,
            ArticleRow.title,
            ArticleRow.lang,
            ArticleRow.source_id,
            _WHEN,
            ArticleRow.duplicate_of,
            ArticleRow.relevance,
            ArticleRow.topics,
            ArticleRow.entities,
            ArticleRow.amounts,
        ).where(ArticleRow.story_id == story_id, ArticleRow.classified_at.is_not(None))
    )
    return [
        Member(i, t, lang, src, when, dup, rel or 0.0, tp or [], en or [], am or [])
        for i, t, lang, src, when, dup, rel, tp, en, am in rows
    ]


def save_event(
    conn: Connection, db: Database, story_id: int, event: Event | None, now: datetime
) -> str:
    """Insert, update or remove a story's event; return "new", "changed", "same" or "gone"."""
    known = conn.execute(
        select(EventRow.digest, EventRow.revision).where(EventRow.id == story_id)
    ).first()
    if event is None:
        if known is None:
            return "same"
        conn.execute(delete(EventRow).where(EventRow.id == story_id))
        write_terms(conn, {story_id: []})
        return "gone"
    values: dict[str, Any] = {
        "title": event.title[:1000],
        "lang": event.lang,
        "relevance": event.relevance,
        "topics": event.topics,
        "entities": event.entities,
        "amounts": event.amounts,
        "first_seen": event.first_seen,
        "last_seen": event.last_seen,
        "articles": event.articles,
        "sources": event.sources,
        "langs": event.langs,
        "representative_id": event.representative_id,
        "digest": event.digest,
        "updated_at": now,
    }
    terms = {story_id: term_rows(story_id, event.topics, event.entities, event.langs)}
    if known is None:
        conn.execute(insert(db, EventRow.__table__).values(id=story_id, revision=1, **values))
        write_terms(conn, terms)
        return "new"
    changed = known.digest != event.digest
    if not changed:
        del values["updated_at"]  # "updated" means changed: the digest and alerts rely on it
    conn.execute(
        update(EventRow)
        .where(EventRow.id == story_id)
        .values(revision=known.revision + (1 if changed else 0), **values)
    )
    write_terms(conn, terms)
    return "changed" if changed else "same"


def stories_since(conn: Connection, since: datetime | None) -> list[int]:
    """Stories with an article at or after ``since`` (every story when None)."""
    query = select(StoryRow.id)
    if since is not None:
        query = query.where(StoryRow.last_seen >= since)
    return list(conn.execute(query.order_by(StoryRow.id)).scalars())


def reset_labels(conn: Connection, since: datetime | None) -> int:
    """Forget the classification of articles since ``since`` (all when None)."""
    query = update(ArticleRow).values(classified_at=None)
    if since is not None:
        query = query.where(since <= _WHEN)
    return int(conn.execute(query).rowcount or 0)


def unknown_name_counts(
    db: Database, since: datetime | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Model names the alias table does not know, by how many articles name them."""
    query = select(ArticleRow.id, ArticleRow.unknown_names, _WHEN).where(
        ArticleRow.unknown_names.is_not(None)
    )
    if since is not None:
        query = query.where(since <= _WHEN)
    counts: Counter[str] = Counter()
    example: dict[str, tuple[int, datetime]] = {}
    with db.connect() as conn:
        for ident, names, when in conn.execution_options(yield_per=1000).execute(query):
            for name in names or []:
                counts[name] += 1
                if name not in example or when > example[name][1]:
                    example[name] = (ident, when)
    return [
        {
            "name": name,
            "articles": count,
            "last_article": example[name][0],
            "last_seen": example[name][1],
        }
        for name, count in counts.most_common(limit)
    ]


def events_updated_since(db: Database, since: datetime) -> list[dict[str, Any]]:
    """Events created or materially changed at or after ``since``, as plain dicts."""
    with db.connect() as conn:
        rows = conn.execute(
            select(EventRow).where(EventRow.updated_at >= since).order_by(EventRow.id)
        )
        return [dict(row._mapping) for row in rows]
