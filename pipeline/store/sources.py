"""Source rows: declared sources kept in step with the sources file, and their feed state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from db.limits import ETAG_MAX, LAST_MODIFIED_MAX
from db.models import SourceRow
from pipeline.records import PollResult, PollStatus, Source, Validators
from pipeline.store.database import Database, insert
from pipeline.store.values import bounded, clean


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the database knows about a source before polling it."""

    id: int
    validators: Validators
    consecutive_failures: int
    last_polled_at: datetime | None = None  # None too when the URL changed: a new feed


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """A source's health as shown by ``newswatch info`` and later ``newswatch sources``."""

    name: str
    url: str
    last_success_at: datetime | None
    consecutive_failures: int
    last_error: str | None


def sync_sources(db: Database, sources: Sequence[Source], now: datetime) -> dict[str, SourceState]:
    """Insert new sources, update changed ones, and return their state by name."""
    table = SourceRow.__table__
    with db.begin() as conn:
        if sources:
            conn.execute(
                insert(db, table).on_conflict_do_nothing(index_elements=["name"]),
                [
                    {
                        "name": s.name,
                        "url": s.url,
                        "kind": s.kind,
                        "lang": s.lang,
                        "tags": list(s.tags),
                        "consecutive_failures": 0,
                        "created_at": now,
                    }
                    for s in sources
                ],
            )
        rows = {
            row.name: row
            for row in conn.execute(
                select(
                    SourceRow.id,
                    SourceRow.name,
                    SourceRow.url,
                    SourceRow.kind,
                    SourceRow.lang,
                    SourceRow.tags,
                    SourceRow.etag,
                    SourceRow.last_modified,
                    SourceRow.consecutive_failures,
                    SourceRow.last_polled_at,
                ).where(SourceRow.name.in_([s.name for s in sources]))
            )
        }
        for source in sources:
            row = rows[source.name]
            changes: dict[str, object] = {}
            if row.url != source.url:
                # A new URL is a new feed: old validators would wrongly answer "not modified".
                changes.update(url=source.url, etag=None, last_modified=None)
            if (row.kind, row.lang, list(row.tags or [])) != (
                source.kind,
                source.lang,
                list(source.tags),
            ):
                changes.update(kind=source.kind, lang=source.lang, tags=list(source.tags))
            if changes:
                conn.execute(update(SourceRow).where(SourceRow.id == row.id).values(**changes))
    result: dict[str, SourceState] = {}
    for source in sources:
        row = rows[source.name]
        reset = row.url != source.url
        result[source.name] = SourceState(
            id=row.id,
            validators=Validators() if reset else Validators(row.etag, row.last_modified),
            consecutive_failures=row.consecutive_failures,
            last_polled_at=None if reset else row.last_polled_at,
        )
    return result


def record_polls(db: Database, polls: Sequence[PollResult], now: datetime) -> None:
    """Store each source's new validators and health after its entries were dealt with."""
    with db.begin() as conn:
        for poll in polls:
            where = SourceRow.name == poll.source
            if poll.status is PollStatus.RESTING:
                continue  # not polled: nothing learnt
            if poll.status is PollStatus.FAILED:
                detail = poll.failure.detail if poll.failure else "failed"
                reason = poll.failure.reason if poll.failure else "error"
                conn.execute(
                    update(SourceRow)
                    .where(where)
                    .values(
                        last_polled_at=now,
                        last_status=poll.http_status,
                        consecutive_failures=SourceRow.consecutive_failures + 1,
                        last_error=clean(f"{reason}: {detail}"[:2000]),
                    )
                )
                continue
            values: dict[str, object] = {
                "last_polled_at": now,
                "last_success_at": now,
                "last_status": poll.http_status,
                "consecutive_failures": 0,
                "last_error": None,
            }
            if poll.status is PollStatus.OK:
                values.update(
                    # Validators too long for their columns are dropped: no conditional GET then.
                    etag=bounded(poll.validators.etag, ETAG_MAX),
                    last_modified=bounded(poll.validators.last_modified, LAST_MODIFIED_MAX),
                )
            conn.execute(update(SourceRow).where(where).values(**values))


def source_health(db: Database) -> list[SourceHealth]:
    """All sources with their health, by name."""
    with db.connect() as conn:
        rows = conn.execute(
            select(
                SourceRow.name,
                SourceRow.url,
                SourceRow.last_success_at,
                SourceRow.consecutive_failures,
                SourceRow.last_error,
            ).order_by(SourceRow.name)
        )
        return [
            SourceHealth(r.name, r.url, r.last_success_at, r.consecutive_failures, r.last_error)
            for r in rows
        ]
