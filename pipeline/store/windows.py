"""Backfill windows: which days of which history sources are finished, and what is pending."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime

from sqlalchemy import select

from db.models import BackfillWindowRow, EntryRow, SourceRow
from pipeline.store.database import Database, insert

_CHUNK = 500


def done_days(
    db: Database, sources: Sequence[str], start: date, end: date
) -> set[tuple[str, date]]:
    """(source, day) pairs between ``start`` and ``end`` already finished by a backfill."""
    if not sources:
        return set()
    query = (
        select(SourceRow.name, BackfillWindowRow.day)
        .join(SourceRow, SourceRow.id == BackfillWindowRow.source_id)
        .where(
            SourceRow.name.in_(list(sources)),
            BackfillWindowRow.day >= start,
            BackfillWindowRow.day <= end,
        )
    )
    with db.connect() as conn:
        return {(name, day) for name, day in conn.execute(query)}


def mark_done(
    db: Database,
    source_id: int,
    days: Iterable[date],
    run_id: int,
    now: datetime,
    counts: Mapping[date, tuple[int, int, int]] | None = None,
) -> None:
    """Record days of a source as finished, with (entries, new, failed) per day if known.

    A day already recorded (by a concurrent backfill) keeps its first record."""
    known = counts or {}
    rows = [
        {
            "source_id": source_id,
            "day": day,
            "run_id": run_id,
            "entries": known.get(day, (0, 0, 0))[0],
            "new_articles": known.get(day, (0, 0, 0))[1],
            "failed": known.get(day, (0, 0, 0))[2],
            "finished_at": now,
        }
        for day in days
    ]
    if not rows:
        return
    table = BackfillWindowRow.__table__
    stmt = insert(db, table).on_conflict_do_nothing(index_elements=["source_id", "day"])
    with db.begin() as conn:
        for start in range(0, len(rows), _CHUNK):
            conn.execute(stmt, rows[start : start + _CHUNK])


def known_urls(db: Database, urls: Sequence[str]) -> dict[str, str]:
    """The state (``pending``, ``stored``, ``failed``) of each of ``urls`` already registered."""
    states: dict[str, str] = {}
    with db.connect() as conn:
        for start in range(0, len(urls), _CHUNK):
            chunk = list(urls[start : start + _CHUNK])
            states.update(
                conn.execute(
                    select(EntryRow.url, EntryRow.state).where(EntryRow.url.in_(chunk))
                ).all()
            )
    return states
