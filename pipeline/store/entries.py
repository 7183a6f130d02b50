"""Entry rows: which announced URLs are new, which to retry, and what became of each."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Table, bindparam, case, or_, select, update

from db.limits import LANG_MAX, URL_MAX
from db.models import ArticleRow, EntryRow, FailureRow, SourceRow
from pipeline.errors import is_transient
from pipeline.records import Entry, Failure, PageOutcome, Stage
from pipeline.store.database import Database, insert
from pipeline.store.search import index_articles
from pipeline.store.values import bounded, clean

_CHUNK = 500
# An entry another run registered but never finished (it crashed) is taken over after this.
STALE_CLAIM = timedelta(hours=1)


@dataclass(slots=True)
class SavedCounts:
    """Per-source counts of one batch of page outcomes."""

    new: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def register_entries(
    db: Database, entries: Sequence[Entry], source_ids: Mapping[str, int], now: datetime
) -> set[str]:
    """Insert entries not seen before; return the URLs this call inserted (ours to fetch)."""
    if not entries:
        return set()
    table = EntryRow.__table__
    rows = [
        {
            "url": e.url,
            "link": clean(e.link),
            "source_id": source_ids[e.source],
            "title": clean(e.title),
            "summary": clean(e.summary),
            "published_at": e.published_at,
            "lang": bounded(e.lang, LANG_MAX),
            "robots": e.robots,
            "state": "pending",
            "attempts": 0,
            "first_seen_at": now,
            "updated_at": now,
        }
        for e in entries
        if bounded(e.url, URL_MAX) == e.url
    ]
    stmt = insert(db, table).on_conflict_do_nothing(index_elements=["url"]).returning(table.c.url)
    inserted: set[str] = set()
    with db.begin() as conn:
        for start in range(0, len(rows), _CHUNK):
            inserted.update(conn.execute(stmt, rows[start : start + _CHUNK]).scalars())
    return inserted


def retry_entries(
    db: Database,
    sources: Sequence[str],
    max_attempts: int,
    now: datetime,
    limit: int = 5000,
) -> list[Entry]:
    """Entries of ``sources`` left pending by earlier runs: transient failures, or claims that
    went stale. Other sources' entries wait for a run that reads those sources."""
    query = (
        select(
            EntryRow.url,
            EntryRow.link,
            EntryRow.title,
            EntryRow.summary,
            EntryRow.published_at,
            EntryRow.lang,
            EntryRow.robots,
            SourceRow.name,
        )
        .join(SourceRow, SourceRow.id == EntryRow.source_id)
        .where(
            SourceRow.name.in_(list(sources)),
            EntryRow.state == "pending",
            EntryRow.attempts < max_attempts,
            or_(EntryRow.attempts > 0, EntryRow.updated_at < now - STALE_CLAIM),
        )
        .order_by(EntryRow.id)
        .limit(limit)
    )
    with db.connect() as conn:
        return [
            Entry(
                source=r.name,
                url=r.url,
                link=r.link,
                title=r.title,
                summary=r.summary,
                published_at=r.published_at,
                lang=r.lang,
                robots=r.robots,
            )
            for r in conn.execute(query)
        ]


def save_outcomes(
    db: Database,
    outcomes: Sequence[PageOutcome],
    source_ids: Mapping[str, int],
    run_id: int,
    max_attempts: int,
    now: datetime,
) -> SavedCounts:
    """Store articles (one per canonical URL) and failures, and settle their entries."""
    outcomes = [_storable(outcome) for outcome in outcomes]
    counts = SavedCounts()
    articles = [o for o in outcomes if o.article is not None]
    failures = [o for o in outcomes if o.failure is not None]
    entries = cast(Table, EntryRow.__table__)
    with db.begin() as conn:
        ids: dict[str, int] = {}
        if articles:
            table = ArticleRow.__table__
            rows: dict[str, dict[str, object]] = {}
            for outcome in articles:
                a = outcome.article
                assert a is not None
                rows.setdefault(
                    a.canonical_url,
                    {
                        "canonical_url": a.canonical_url,
                        "url": a.url,
                        "final_url": a.final_url,
                        "source_id": source_ids[a.source],
                        "run_id": run_id,
                        "title": clean(a.title),
                        "text": clean(a.text),
                        "lang": bounded(a.lang, LANG_MAX),
                        "published_at": a.published_at,
                        "fetched_at": a.fetched_at,
                        "author": clean(a.author),
                        "site_name": clean(a.site_name),
                        "description": clean(a.description),
                        "fingerprint": a.fingerprint,
                    },
                )
            stmt = (
                insert(db, table)
                .on_conflict_do_nothing(index_elements=["canonical_url"])
                .returning(table.c.canonical_url)
            )
            values = list(rows.values())
            created: set[str] = set()
            for start in range(0, len(values), _CHUNK):
                created.update(conn.execute(stmt, values[start : start + _CHUNK]).scalars())
            for chunk in _chunks(list(rows)):
                ids.update(
                    conn.execute(
                        select(ArticleRow.canonical_url, ArticleRow.id).where(
                            ArticleRow.canonical_url.in_(chunk)
                        )
                    ).all()
                )
            index_articles(
                conn,
                [
                    (ids[url], str(rows[url]["title"] or ""), str(rows[url]["text"] or ""))
                    for url in created
                ],
            )
            for outcome in articles:
                a = outcome.article
                assert a is not None
                if a.canonical_url in created:
                    created.discard(a.canonical_url)  # credit the first entry only
                    counts.new[outcome.entry.source] += 1
                else:
                    counts.unchanged[outcome.entry.source] += 1
            conn.execute(
                update(entries)
                .where(entries.c.url == bindparam("b_url"))
                .values(
                    state="stored",
                    article_id=bindparam("b_article"),
                    attempts=entries.c.attempts + 1,
                    last_reason=None,
                    updated_at=now,
                ),
                [
                    {"b_url": o.entry.url, "b_article": ids[o.article.canonical_url]}
                    for o in articles
                    if o.article is not None
                ],
            )
        if failures:
            conn.execute(
                update(entries)
                # An entry stored under another outcome of the same URL stays stored.
                .where(entries.c.url == bindparam("b_url"), entries.c.state != "stored")
                .values(
                    attempts=entries.c.attempts + 1,
                    last_reason=bindparam("b_reason"),
                    updated_at=now,
                    state=case(
                        (
                            or_(bindparam("b_permanent"), entries.c.attempts + 1 >= max_attempts),
                            "failed",
                        ),
                        else_="pending",
                    ),
                ),
                [
                    {
                        "b_url": o.entry.url,
                        "b_reason": o.failure.reason,
                        "b_permanent": not is_transient(o.failure.reason),
                    }
                    for o in failures
                    if o.failure is not None
                ],
            )
            record_failures(
                db, [o.failure for o in failures if o.failure is not None], run_id, now, conn=conn
            )
            for outcome in failures:
                counts.failed[outcome.entry.source] += 1
    return counts


def _storable(outcome: PageOutcome) -> PageOutcome:
    """The outcome, or a failure when its article cannot be stored as it is."""
    article = outcome.article
    if article is None or len(article.canonical_url) <= URL_MAX:
        return outcome
    failure = Failure(
        Stage.STORE,
        article.source,
        outcome.entry.link,
        "url_too_long",
        f"canonical URL of {len(article.canonical_url)} characters",
    )
    return PageOutcome(outcome.entry, failure=failure)


def record_failures(
    db: Database,
    failures: Sequence[Failure],
    run_id: int,
    now: datetime,
    *,
    conn: Connection | None = None,
) -> None:
    """Keep per-item failures of a run."""
    if not failures:
        return
    rows = [
        {
            "run_id": run_id,
            "stage": str(f.stage),
            "source": f.source,
            "url": f.url[:4000],
            "reason": f.reason,
            "detail": clean(f.detail[:2000]),
            "status": f.status,
            "at": now,
        }
        for f in failures
    ]
    stmt = insert(db, FailureRow.__table__)
    if conn is not None:
        conn.execute(stmt, rows)
        return
    with db.begin() as own:
        own.execute(stmt, rows)
