"""The alert outbox: alerts to send, sent, or failed and waiting for the next run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from db.models import AlertRow, ArticleRow, EntryRow, EventRow, SourceRow
from pipeline.store.database import Database, insert

_CHUNK = 500


def all_events(db: Database) -> list[dict[str, Any]]:
    """Every tracked event, as plain dicts."""
    with db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(EventRow).order_by(EventRow.id))]


def last_alerts(db: Database, rule: str) -> dict[int, tuple[int, dict[str, Any]]]:
    """For each event a rule has announced: its latest revision and what that alert said."""
    latest = (
        select(AlertRow.event_id, func.max(AlertRow.revision).label("revision"))
        .where(AlertRow.rule == rule)
        .group_by(AlertRow.event_id)
        .subquery()
    )
    query = select(AlertRow.event_id, AlertRow.revision, AlertRow.snapshot).join(
        latest,
        (AlertRow.event_id == latest.c.event_id) & (AlertRow.revision == latest.c.revision),
    )
    found: dict[int, tuple[int, dict[str, Any]]] = {}
    with db.connect() as conn:
        for event_id, revision, snap in conn.execute(query.where(AlertRow.rule == rule)):
            found[int(event_id)] = (int(revision), dict(snap or {}))
    return found


def enqueue(db: Database, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Add alerts; one that exists already (same rule, event, revision, channel) is kept as it
    is. Returns the revision of each alert added."""
    if not rows:
        return []
    table = AlertRow.__table__
    stmt = (
        insert(db, table)
        .on_conflict_do_nothing(index_elements=["rule", "event_id", "revision", "channel"])
        .returning(table.c.revision)
    )
    added: list[int] = []
    with db.begin() as conn:
        for start in range(0, len(rows), _CHUNK):
            added.extend(conn.execute(stmt, list(rows[start : start + _CHUNK])).scalars())
    return added


def due(db: Database, max_attempts: int, rules: Iterable[str]) -> list[dict[str, Any]]:
    """Alerts of ``rules`` not sent yet and not out of attempts, oldest first."""
    query = (
        select(AlertRow)
        .where(
            AlertRow.status.in_(["pending", "failed"]),
            AlertRow.attempts < max_attempts,
            AlertRow.rule.in_(list(rules)),
        )
        .order_by(AlertRow.id)
    )
    with db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def mark(db: Database, alert_id: int, *, sent: bool, error: str | None, now: datetime) -> None:
    """Record one delivery attempt."""
    with db.begin() as conn:
        conn.execute(
            update(AlertRow)
            .where(AlertRow.id == alert_id)
            .values(
                status="sent" if sent else "failed",
                attempts=AlertRow.attempts + 1,
                last_error=None if sent else (error or "")[:2000],
                sent_at=now if sent else None,
            )
        )


def list_alerts(db: Database, *, failed: bool = False, limit: int = 50) -> list[dict[str, Any]]:
    """Recent alerts, newest first; with ``failed``, only those not delivered."""
    query = select(
        AlertRow.id,
        AlertRow.rule,
        AlertRow.event_id,
        AlertRow.revision,
        AlertRow.channel_shown,
        AlertRow.title,
        AlertRow.status,
        AlertRow.attempts,
        AlertRow.last_error,
        AlertRow.created_at,
        AlertRow.sent_at,
    )
    if failed:
        query = query.where(AlertRow.status != "sent")
    with db.connect() as conn:
        rows = conn.execute(query.order_by(AlertRow.id.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]


def event_links(db: Database, events: Sequence[dict[str, Any]]) -> dict[int, dict[str, str | None]]:
    """The representative article's URL and the story's first original, per event."""
    links: dict[int, dict[str, str | None]] = {}
    with db.connect() as conn:
        for event in events:
            rep = event.get("representative_id")
            representative = (
                conn.scalar(select(ArticleRow.url).where(ArticleRow.id == rep)) if rep else None
            )
            original = conn.scalar(
                select(ArticleRow.url)
                .where(ArticleRow.story_id == event["id"], ArticleRow.duplicate_of.is_(None))
                .order_by(ArticleRow.published_at, ArticleRow.id)
                .limit(1)
            )
            links[int(event["id"])] = {"representative": representative, "original": original}
    return links


def source_states(db: Database) -> list[dict[str, Any]]:
    """Every source with its poll health and the time of its newest entry."""
    newest = (
        select(EntryRow.source_id, func.max(EntryRow.first_seen_at).label("newest"))
        .group_by(EntryRow.source_id)
        .subquery()
    )
    query = (
        select(
            SourceRow.id,
            SourceRow.name,
            SourceRow.url,
            SourceRow.created_at,
            SourceRow.last_success_at,
            SourceRow.consecutive_failures,
            SourceRow.last_error,
            newest.c.newest,
        )
        .outerjoin(newest, newest.c.source_id == SourceRow.id)
        .order_by(SourceRow.id)
    )
    with db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
