"""The backfill flow: the history of a range of days from sitemaps, web archives and feed
archives, stored as live collection stores it.

One flow run maps over the day windows (never one deployment run per day):

1. ``discover`` (one task per history source, a few at a time): the entries a sitemap tree or
   an archived feed holds for the range, grouped by publication day;
2. the days not done yet are packed, in day order, into page batches of ``batch_size``; at
   most ``backfill_batches`` batches are in flight (``fetch-pages`` then ``store-pages``, the
   tasks of live collection);
3. a day of a source is recorded in ``backfill_windows`` once all its pages are stored, so a
   re-run or a run after a crash starts with the days not recorded;
4. ``read-warc`` (one task per archive): archives are read whole (see ``pipeline.archives``);
5. ``cluster`` and ``classify``, as after a live collect.

An entry URL is registered once whatever saw it first (a feed poll or a backfill), and an
article is stored once per canonical URL: a backfilled article and a live one never duplicate.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows import progress
from flows.batches import fetch_and_store
from flows.recording import recorded_run
from flows.report import artifact_rows
from flows.runners import batches_in_flight, page_runner
from flows.tasks import classify_articles, cluster_articles
from pipeline.archives import ArchiveResult, backfill_archive, open_archive
from pipeline.classify import Classifier
from pipeline.errors import ConfigError
from pipeline.fetch import Fetcher
from pipeline.fetch_settings import FetchSettings, SourcesConfig
from pipeline.history import DayRange, Discovery, discover
from pipeline.records import Entry, Failure, PageOutcome, PollResult, PollStatus, Source, Stage
from pipeline.settings import Settings, load_settings
from pipeline.sources import load_sources
from pipeline.store.database import open_database
from pipeline.store.entries import SavedCounts, register_entries
from pipeline.store.runs import finish_run, summary_json
from pipeline.store.sources import sync_sources
from pipeline.store.windows import done_days, known_urls, mark_done
from pipeline.tally import Tally

TASK_THREADS = 16
MAX_DAYS = 3660  # ten years: a typo in a year must not plan a century of work


@task(name="discover", cache_policy=NO_CACHE, persist_result=False, retries=1)
def discover_source(
    source: Source, window: DayRange, fetch: FetchSettings, now: datetime
) -> Discovery:
    """The entries one sitemap or archived feed holds for the window."""
    with Fetcher(fetch) as fetcher:
        return discover(fetcher, source, window, now)


@task(name="read-warc", cache_policy=NO_CACHE, persist_result=False)
def read_archive(
    source: Source,
    window: DayRange,
    fetch: FetchSettings,
    db_url: str,
    archive_dir: str,
    source_ids: dict[str, int],
    run_id: int,
    now: datetime,
) -> ArchiveResult:
    """Extract and store the pages of one WARC archive published inside the window."""
    bar = progress.current()
    database = open_database(db_url, check=False)
    try:
        with open_archive(source, fetch, Path(archive_dir)) as stream:
            return backfill_archive(
                database,
                stream,
                source,
                window,
                fetch,
                source_ids=source_ids,
                run_id=run_id,
                now=now,
                on_batch=bar.read,
            )
    finally:
        database.dispose()


def parse_window(start: str | date, end: str | date) -> DayRange:
    """The day range of a backfill; a ConfigError names the bad value."""
    days: list[date] = []
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, date):
            days.append(value)
            continue
        try:
            days.append(date.fromisoformat(str(value).strip()[:10]))
        except ValueError as exc:
            raise ConfigError(f"{name}={value!r} is not a date (e.g. 2025-03-01)") from exc
    if days[1] < days[0]:
        raise ConfigError(f"end ({days[1]}) is before start ({days[0]})")
    if (days[1] - days[0]).days >= MAX_DAYS:
        raise ConfigError(f"the range covers more than {MAX_DAYS} days; split it")
    return DayRange(days[0], days[1])


def history_sources(config: SourcesConfig, names: Sequence[str] | None) -> list[Source]:
    """The sources to backfill: those named, else every source (feeds for their archives)."""
    if not names:
        return list(config.sources)
    by_name = {s.name: s for s in config.sources}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ConfigError(
            f"no source named {', '.join(map(repr, unknown))} in {config.path}", path=config.path
        )
    return [by_name[n] for n in dict.fromkeys(names)]


@dataclass(slots=True)
class _Day:
    """One day of one source: its entries still to store, and the batches that hold them."""

    source: str
    day: date
    entries: int
    open_batches: int = 0
    new: int = 0
    failed: int = 0
    complete: bool = True  # discovery read every document: the day may be recorded
    failed_urls: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Batch:
    entries: list[Entry]
    days: list[_Day] = field(default_factory=list)


def _pack(days: Sequence[tuple[_Day, list[Entry]]], size: int) -> list[_Batch]:
    """Day windows packed in order into batches of at most ``size`` pages."""
    batches: list[_Batch] = []
    current = _Batch([])
    for window, entries in days:
        start = 0
        while start < len(entries):
            room = size - len(current.entries)
            piece = entries[start : start + room]
            current.entries.extend(piece)
            if window not in current.days:
                current.days.append(window)
                window.open_batches += 1
            start += len(piece)
            if len(current.entries) >= size:
                batches.append(current)
                current = _Batch([])
    if current.entries:
        batches.append(current)
    return batches


class _Plan:
    """The day windows of a backfill and what is left of each."""

    def __init__(self, run_id: int, source_ids: dict[str, int]) -> None:
        self.run_id = run_id
        self.source_ids = source_ids
        self.done_now: list[_Day] = []

    def finish(self, database: Any, window: _Day) -> None:
        # A page that failed transiently is retried by the next backfill of this day (up to
        # max_attempts): the day stays open while such a page is pending.
        if window.failed_urls:
            states = known_urls(database, window.failed_urls)
            if any(state == "pending" for state in states.values()):
                window.complete = False
        if window.complete:
            mark_done(
                database,
                self.source_ids[window.source],
                [window.day],
                self.run_id,
                datetime.now(UTC),
                {window.day: (window.entries, window.new, window.failed)},
            )
        self.done_now.append(window)


def _discover_all(
    sources: Sequence[Source], window: DayRange, fetch: FetchSettings, now: datetime
) -> list[Discovery]:
    futures = [
        discover_source.with_options(task_run_name=f"discover {s.name}").submit(
            s, window, fetch, now
        )
        for s in sources
    ]
    return [f.result() for f in futures]


@flow(
    name="backfill",
    task_runner=cast(Any, ThreadPoolTaskRunner(max_workers=TASK_THREADS)),
    persist_result=False,
    log_prints=False,
)
def backfill(
    start: str,
    end: str,
    sources: str | None = None,
    source: list[str] | None = None,
    db: str | None = None,
    show_progress: bool | None = None,
) -> dict[str, Any]:
    """Collect the articles every history source holds for the days ``start`` to ``end``
    (inclusive, UTC); resumes where an earlier backfill of the same days stopped."""
    logger = get_run_logger()
    window = parse_window(start, end)
    settings = load_settings(db_url=db, sources_path=sources)
    config = load_sources(settings.sources_path)
    chosen = history_sources(config, source)
    fetch = config.fetch
    Classifier.from_seeds(settings.seeds_dir)  # bad seed files stop the run before any work
    database = open_database(settings.db_url, upgrade=settings.auto_upgrade)
    started = datetime.now(UTC)
    clock = time.monotonic()
    try:
        with recorded_run(
            database, "backfill", started, sources_path=str(settings.sources_path)
        ) as run_id:
            states = sync_sources(database, chosen, started)
            source_ids = {name: state.id for name, state in states.items()}
            days = window.days()
            done = done_days(database, [s.name for s in chosen], window.start, window.end)
            todo = [s for s in chosen if any((s.name, d) not in done for d in days)]
            plan = _Plan(run_id, source_ids)
            logger.info(
                "backfill %s..%s: %d sources, %d of %d source-days already done",
                window.start,
                window.end,
                len(chosen),
                len(done),
                len(chosen) * len(days),
            )
            with (
                page_runner(settings) as runner,
                progress.page_progress(show_progress, label="backfill") as bar,
            ):
                urls = [s for s in todo if s.kind != "warc"]
                discoveries = _discover_all(urls, window, fetch, started)
                polls, fresh, outcomes_by_source = _store_days(
                    database,
                    discoveries,
                    done,
                    days,
                    plan,
                    fetch,
                    settings,
                    started,
                    bar,
                    {s.name: s for s in chosen},
                    runner,
                )
                archives = [
                    _read_one(
                        s, window, fetch, settings, source_ids, run_id, started, plan, database
                    )
                    for s in todo
                    if s.kind == "warc"
                ]
            tally = Tally(polls + [_archive_poll(a) for a in archives], fresh)
            for name, (new, unchanged, failures) in outcomes_by_source.items():
                tally.add({name: new}, {name: unchanged}, failures)
            for result in archives:
                tally.fresh[result.source] = result.entries
                tally.add(
                    {result.source: sum(result.new.values())},
                    {result.source: sum(result.unchanged.values())},
                    [o.failure for o in result.outcomes if o.failure is not None],
                )
            clustering = cluster_articles.submit(
                settings.db_url, str(settings.entities_path), started
            ).result()
            tracking = classify_articles.submit(
                settings.db_url, str(settings.seeds_dir), started
            ).result()
            finished = started + timedelta(seconds=time.monotonic() - clock)
            summary = tally.summary(run_id, started, finished, clustering, tracking)
            extra = {
                "backfill": {
                    "start": window.start.isoformat(),
                    "end": window.end.isoformat(),
                    "source_days": len(chosen) * len(days),
                    "already_done": len(done),
                    "done_now": sum(1 for d in plan.done_now if d.complete),
                    "incomplete": sorted({d.source for d in plan.done_now if not d.complete}),
                    "discovery": [_discovery_json(d) for d in discoveries],
                    "archives": [_archive_json(a) for a in archives],
                }
            }
            finish_run(database, summary, extra=extra)
    finally:
        database.dispose()
    data = {**summary_json(summary), **extra}
    create_table_artifact(
        key="backfill-summary", table=artifact_rows(data), description=f"backfill run {run_id}"
    )
    logger.info(
        "run %d: backfill %s..%s, %d new articles, %d failed, %d source-days done in %.1f s",
        run_id,
        window.start,
        window.end,
        summary.total("new"),
        summary.total("failed"),
        extra["backfill"]["done_now"],
        summary.duration_s,
    )
    return data


def _store_days(
    database: Any,
    discoveries: Sequence[Discovery],
    done: set[tuple[str, date]],
    days: Sequence[date],
    plan: _Plan,
    fetch: FetchSettings,
    settings: Settings,
    now: datetime,
    bar: progress.PageBar,
    sources: dict[str, Source],
    runner: TaskRunner[Any] | None,
) -> tuple[list[PollResult], Counter[str], dict[str, tuple[int, int, list[Any]]]]:
    """Register, fetch, extract and store the entries of every day not done yet."""
    polls: list[PollResult] = []
    fresh: Counter[str] = Counter()
    windows: list[tuple[_Day, list[Entry]]] = []
    scheduled: set[str] = set()  # a URL two sources list is fetched once
    for found in discoveries:
        by_day = found.by_day()
        todo_days = [d for d in days if (found.source, d) not in done]
        entries = [e for d in todo_days for e in by_day.get(d, [])]
        registered = register_entries(database, entries, plan.source_ids, now)
        fresh[found.source] += len(registered)
        states = known_urls(database, [e.url for e in entries])
        for day in todo_days:
            pending = [
                e
                for e in by_day.get(day, [])
                if states.get(e.url) == "pending" and e.url not in scheduled
            ]
            scheduled.update(e.url for e in pending)
            windows.append(
                (
                    _Day(found.source, day, len(by_day.get(day, [])), complete=found.complete),
                    pending,
                )
            )
        polls.append(
            PollResult(
                found.source,
                PollStatus.FAILED if found.failed else PollStatus.OK,
                entries=tuple(entries),
                skipped=found.skipped + found.undated,
                warnings=found.warnings,
                failure=found.failures[0] if found.failed and found.failures else None,
            )
        )
    batches = _pack(windows, fetch.batch_size)
    for window, pending in windows:
        if not pending:  # nothing to fetch: done already
            plan.finish(database, window)
    bar.grow(sum(len(b.entries) for b in batches))
    results: dict[str, tuple[int, int, list[Any]]] = {}
    # A failed source's first failure is its poll failure; every other one counts as failed.
    extra_failures = [f for d in discoveries for f in d.failures[1 if d.failed else 0 :]]
    for failure in extra_failures:
        new, unchanged, failures = results.get(failure.source, (0, 0, []))
        results[failure.source] = (new, unchanged, [*failures, failure])
    fetch_and_store(
        [b.entries for b in batches],
        runner=runner,
        in_flight=max(fetch.backfill_batches, batches_in_flight(runner)),
        sources=sources,
        fetch=fetch,
        now=now,
        db_url=settings.db_url,
        source_ids=plan.source_ids,
        run_id=plan.run_id,
        on_stored=lambda index, outcomes, counts: _settle(
            database, batches[index], outcomes, counts, plan, results
        ),
    )
    return polls, fresh, results


def _settle(
    database: Any,
    batch: _Batch,
    outcomes: Sequence[PageOutcome],
    counts: SavedCounts,
    plan: _Plan,
    results: dict[str, tuple[int, int, list[Any]]],
) -> None:
    for name in set(counts.new) | set(counts.unchanged) | set(counts.failed):
        new, unchanged, failures = results.get(name, (0, 0, []))
        results[name] = (
            new + counts.new[name],
            unchanged + counts.unchanged[name],
            failures + [o.failure for o in outcomes if o.failure and o.entry.source == name],
        )
    by_window: Counter[tuple[str, date]] = Counter()
    failed: dict[tuple[str, date], list[str]] = {}
    for outcome in outcomes:
        entry = outcome.entry
        if entry.published_at is None:
            continue
        key = (entry.source, entry.published_at.astimezone(UTC).date())
        if outcome.failure is not None:
            failed.setdefault(key, []).append(entry.url)
        else:
            by_window[key] += 1
    for window in batch.days:
        window.new += by_window[(window.source, window.day)]
        lost = failed.get((window.source, window.day), [])
        window.failed += len(lost)
        window.failed_urls.extend(lost)
        window.open_batches -= 1
        if window.open_batches == 0:
            plan.finish(database, window)


def _read_one(
    source: Source,
    window: DayRange,
    fetch: FetchSettings,
    settings: Settings,
    source_ids: dict[str, int],
    run_id: int,
    now: datetime,
    plan: _Plan,
    database: Any,
) -> ArchiveResult:
    try:
        result: ArchiveResult = (
            read_archive.with_options(task_run_name=f"read-warc {source.name}")
            .submit(
                source,
                window,
                fetch,
                settings.db_url,
                str(settings.home / "archives"),
                source_ids,
                run_id,
                now,
            )
            .result()
        )
    except Exception as exc:  # a broken archive fails its source, not the backfill
        get_run_logger().warning("archive failed source=%s: %s", source.name, exc)
        result = ArchiveResult(source.name)
        result.error = f"{exc.__class__.__name__}: {exc}"[:500]
        return result
    mark_done(
        database,
        source_ids[source.name],
        window.days(),
        run_id,
        datetime.now(UTC),
        {
            day: (0, result.new[day], result.failed[day])
            for day in set(result.new) | set(result.failed)
        },
    )
    plan.done_now.extend(_Day(source.name, d, 0) for d in window.days())
    return result


def _archive_poll(result: ArchiveResult) -> PollResult:
    if result.error:
        failure = Failure(Stage.POLL, result.source, "", "archive", result.error)
        return PollResult(result.source, PollStatus.FAILED, failure=failure)
    return PollResult(result.source, PollStatus.OK, skipped=result.outside)


def _discovery_json(found: Discovery) -> dict[str, Any]:
    return {
        "source": found.source,
        "documents": found.documents,
        "entries_in_window": len(found.entries),
        "outside_window": found.outside,
        "undated": found.undated,
        "complete": found.complete,
    }


def _archive_json(result: ArchiveResult) -> dict[str, Any]:
    stats = result.stats
    return {
        "source": result.source,
        "records": stats.records,
        "html_responses": stats.html,
        "captured_before_window": stats.before_window,
        "published_outside_window": result.outside,
        "already_stored": result.known,
        "kept": result.entries,
        "error": result.error,
    }
