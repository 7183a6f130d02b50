"""Storage on real SQLite and PostgreSQL: uniqueness, idempotence, retries, feed state."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from db.models import ArticleRow, EntryRow, FailureRow
from pipeline.records import (
    Article,
    Entry,
    Failure,
    PageOutcome,
    PollResult,
    PollStatus,
    Source,
    Stage,
    Validators,
)
from pipeline.store.database import Database, open_database
from pipeline.store.entries import register_entries, retry_entries, save_outcomes
from pipeline.store.export import iter_articles
from pipeline.store.runs import start_run
from pipeline.store.sources import record_polls, source_health, sync_sources

NOW = datetime(2025, 3, 26, 3, 0, tzinfo=UTC)
SOURCES = (
    Source("alpha", "http://alpha.test/feed", lang="ko"),
    Source("beta", "http://beta.test/feed", lang="en"),
)
NAMES = [s.name for s in SOURCES]


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = open_database(db_url, upgrade=True)
    yield db
    db.dispose()


def _entry(n: int, source: str = "alpha") -> Entry:
    return Entry(
        source=source,
        url=f"http://{source}.test/news/{n}",
        link=f"http://{source}.test/news/{n}?utm_source=rss",
        title=f"title {n}",
        published_at=NOW - timedelta(hours=n),
    )


def _article(entry: Entry, canonical: str | None = None) -> Article:
    return Article(
        url=entry.link,
        final_url=entry.url,
        canonical_url=canonical or entry.url,
        source=entry.source,
        title=entry.title,
        text=f"text of {entry.url}",
        lang="ko",
        published_at=entry.published_at,
        fetched_at=NOW,
        fingerprint="f" * 64,
    )


def _count(db: Database, model: type) -> int:
    with db.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


def test_register_entries_returns_only_new_urls(database: Database) -> None:
    ids = {k: v.id for k, v in sync_sources(database, SOURCES, NOW).items()}
    first = register_entries(database, [_entry(1), _entry(2)], ids, NOW)
    again = register_entries(database, [_entry(1), _entry(2), _entry(3)], ids, NOW)
    assert first == {_entry(1).url, _entry(2).url}
    assert again == {_entry(3).url}
    assert _count(database, EntryRow) == 3


def test_one_article_per_canonical_url_and_ids_stable(database: Database) -> None:
    ids = {k: v.id for k, v in sync_sources(database, SOURCES, NOW).items()}
    run = start_run(database, NOW)
    entries = [_entry(1), _entry(2, "beta")]
    register_entries(database, entries, ids, NOW)
    # Both entries turn out to be the same article (same canonical URL).
    outcomes = [PageOutcome(e, article=_article(e, "http://alpha.test/news/1")) for e in entries]
    counts = save_outcomes(database, outcomes, ids, run, 3, NOW)
    assert sum(counts.new.values()) == 1 and sum(counts.unchanged.values()) == 1
    before = [(r["id"], r["canonical_url"]) for r in iter_articles(database)]
    counts = save_outcomes(database, outcomes, ids, run, 3, NOW)
    assert sum(counts.new.values()) == 0
    assert [(r["id"], r["canonical_url"]) for r in iter_articles(database)] == before
    assert _count(database, ArticleRow) == 1


def test_transient_failures_are_retried_permanent_ones_are_not(database: Database) -> None:
    ids = {k: v.id for k, v in sync_sources(database, SOURCES, NOW).items()}
    run = start_run(database, NOW)
    slow, gone = _entry(1), _entry(2)
    register_entries(database, [slow, gone], ids, NOW)
    outcomes = [
        PageOutcome(slow, failure=Failure(Stage.FETCH, "alpha", slow.link, "timeout", "slow")),
        PageOutcome(gone, failure=Failure(Stage.FETCH, "alpha", gone.link, "http_4xx", "404", 404)),
    ]
    save_outcomes(database, outcomes, ids, run, 2, NOW)
    assert [e.url for e in retry_entries(database, NAMES, 2, NOW)] == [slow.url]
    save_outcomes(database, outcomes[:1], ids, run, 2, NOW)  # second timeout: out of attempts
    assert retry_entries(database, NAMES, 2, NOW) == []
    assert _count(database, FailureRow) == 3


def test_retries_belong_to_the_sources_of_the_run(database: Database) -> None:
    ids = {k: v.id for k, v in sync_sources(database, SOURCES, NOW).items()}
    run = start_run(database, NOW)
    entries = [_entry(1, "alpha"), _entry(2, "beta")]
    register_entries(database, entries, ids, NOW)
    failures = [
        PageOutcome(e, failure=Failure(Stage.FETCH, e.source, e.link, "timeout", "slow"))
        for e in entries
    ]
    save_outcomes(database, failures, ids, run, 3, NOW)
    assert [e.source for e in retry_entries(database, ["beta"], 3, NOW)] == ["beta"]
    assert {e.source for e in retry_entries(database, NAMES, 3, NOW)} == {"alpha", "beta"}


def test_stale_claims_of_a_crashed_run_are_taken_over(database: Database) -> None:
    ids = {k: v.id for k, v in sync_sources(database, SOURCES, NOW).items()}
    register_entries(database, [_entry(1)], ids, NOW)
    assert retry_entries(database, NAMES, 3, NOW) == []  # another run may be fetching it right now
    assert [e.url for e in retry_entries(database, NAMES, 3, NOW + timedelta(hours=2))] == [
        _entry(1).url
    ]


def test_feed_state_and_health(database: Database) -> None:
    sync_sources(database, SOURCES, NOW)
    record_polls(
        database,
        [
            PollResult("alpha", PollStatus.OK, validators=Validators('"v1"', "Tue, 25 Mar 2025")),
            PollResult(
                "beta",
                PollStatus.FAILED,
                failure=Failure(Stage.POLL, "beta", "u", "http_5xx", "HTTP 500", 500),
            ),
        ],
        NOW,
    )
    states = sync_sources(database, SOURCES, NOW)
    assert states["alpha"].validators == Validators('"v1"', "Tue, 25 Mar 2025")
    assert states["beta"].consecutive_failures == 1
    health = {h.name: h for h in source_health(database)}
    assert health["beta"].last_error == "http_5xx: HTTP 500"
    assert health["alpha"].last_success_at == NOW
    # A changed URL is a new feed: the old validators must not be sent to it.
    moved = (Source("alpha", "http://alpha.test/new-feed", lang="ko"), SOURCES[1])
    assert sync_sources(database, moved, NOW)["alpha"].validators == Validators()


def test_datetimes_come_back_aware_utc(database: Database) -> None:
    ids = {k: v.id for k, v in sync_sources(database, SOURCES, NOW).items()}
    run = start_run(database, NOW)
    entry = _entry(5)
    register_entries(database, [entry], ids, NOW)
    save_outcomes(database, [PageOutcome(entry, article=_article(entry))], ids, run, 3, NOW)
    row = next(iter_articles(database))
    assert row["published_at"] == entry.published_at
    assert row["published_at"].utcoffset() == timedelta(0)


@pytest.mark.postgres
def test_concurrent_writers_store_no_duplicates(pg_url: str) -> None:
    database = open_database(pg_url, upgrade=True)
    try:
        ids = {k: v.id for k, v in sync_sources(database, SOURCES, NOW).items()}
        run = start_run(database, NOW)
        entries = [_entry(n) for n in range(60)]
        outcomes = [PageOutcome(e, article=_article(e)) for e in entries]
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def writer() -> None:
            try:
                barrier.wait()
                register_entries(database, entries, ids, NOW)
                save_outcomes(database, outcomes, ids, run, 3, NOW)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert _count(database, ArticleRow) == 60
        assert _count(database, EntryRow) == 60
    finally:
        database.dispose()


def test_hostile_values_are_cleaned_not_fatal(database: Database) -> None:
    """NUL characters and oversized values from a feed or page must not abort a batch."""
    ids = {k: v.id for k, v in sync_sources(database, SOURCES, NOW).items()}
    run = start_run(database, NOW)
    dirty = Entry(
        source="alpha",
        url="http://alpha.test/nul",
        link="http://alpha.test/nul",
        title="bad\x00title",
        summary="sum\x00mary",
        lang="x" * 40,
    )
    long_canonical = _entry(7)
    inserted = register_entries(database, [dirty, long_canonical], ids, NOW)
    assert inserted == {dirty.url, long_canonical.url}
    article = replace(_article(dirty), text="body\x00text", title="t\x00")
    too_long = _article(long_canonical, "http://alpha.test/" + "a" * 3000)
    counts = save_outcomes(
        database,
        [PageOutcome(dirty, article=article), PageOutcome(long_canonical, article=too_long)],
        ids,
        run,
        3,
        NOW,
    )
    assert sum(counts.new.values()) == 1 and sum(counts.failed.values()) == 1
    [row] = list(iter_articles(database))
    assert "\x00" not in row["text"] and row["text"] == "bodytext"
    with database.connect() as conn:
        reasons = list(conn.execute(select(FailureRow.reason)).scalars())
    assert reasons == ["url_too_long"]
    record_polls(
        database,
        [
            PollResult(
                "alpha", PollStatus.OK, validators=Validators('"' + "e" * 900 + '"', "x" * 300)
            )
        ],
        NOW,
    )
    assert sync_sources(database, SOURCES, NOW)["alpha"].validators == Validators()
