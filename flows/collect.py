"""The collect flow: sources → feeds → pages → articles, stored.

Task grain (each is a unit that needs retries or visibility, never one per article):

- ``poll-host``: poll the sources that share a host (one Fetcher, ≤ 2 requests at a time);
- ``fetch-pages``: fetch and extract one batch of new entries (threads + extraction processes);
- ``store-pages``: write one batch of articles and failures (retried on a transient DB error);
- ``cluster``: copies and stories for the articles not clustered yet (one exclusive step);
- ``classify``: topics, entities, amounts, relevance; tracked events of the stories touched.

Everything else is a direct call into ``pipeline``. The run fails only on systemic problems
(bad configuration, database unreachable); a bad feed or page is a Failure in the summary.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.futures import PrefectFuture, wait
from prefect.task_runners import ThreadPoolTaskRunner

from flows import progress
from flows.alerts import alerts
from flows.batches import fetch_and_store
from flows.recording import recorded_run
from flows.report import artifact_rows
from flows.runners import batches_in_flight, page_runner
from flows.secrets import ChannelSecrets
from flows.tasks import classify_articles, cluster_articles, poll_host
from pipeline.alerts.dispatch import DispatchReport, ready_rules
from pipeline.alerts.rules import load_rules
from pipeline.backoff import rest_until
from pipeline.classify import Classifier
from pipeline.fetch_settings import FetchSettings
from pipeline.poll import group_by_host
from pipeline.records import Entry, PageOutcome, PollResult, PollStatus, Source, Validators
from pipeline.settings import load_settings
from pipeline.sources import load_sources
from pipeline.store.database import Database, open_database
from pipeline.store.entries import (
    SavedCounts,
    record_failures,
    register_entries,
    retry_entries,
)
from pipeline.store.runs import finish_run, summary_json
from pipeline.store.sources import SourceState, record_polls, sync_sources
from pipeline.tally import Tally
from pipeline.urls import host_port

# Threads for task runs; the real network bounds are enforced by the window below and by each
# task's Fetcher (per-host and global limits from the sources file).
TASK_THREADS = 16


def batches(entries: Sequence[Entry], size: int) -> list[list[Entry]]:
    """Split entries into batches, keeping each host's entries together where possible."""
    ordered = sorted(entries, key=lambda e: host_port(e.link))
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def _poll_all(
    sources: Sequence[Source],
    validators: dict[str, Validators],
    fetch: FetchSettings,
    now: datetime,
) -> list[PollResult]:
    window = max(1, fetch.concurrency // fetch.per_host_concurrency)
    queue = list(group_by_host(sources).items())
    running: list[PrefectFuture[list[PollResult]]] = []
    results: list[PollResult] = []
    while queue or running:
        while queue and len(running) < window:
            host, group = queue.pop(0)
            running.append(
                poll_host.with_options(task_run_name=f"poll {host}").submit(
                    group, {s.name: validators[s.name] for s in group}, fetch, now
                )
            )
        done, _ = wait(running, timeout=0.05)
        for future in done:
            results.extend(future.result())
            running.remove(future)
    order = {s.name: i for i, s in enumerate(sources)}
    return sorted(results, key=lambda r: order.get(r.source, len(order)))


def _entries_to_fetch(
    polls: Sequence[PollResult], fresh_urls: set[str], retries: Sequence[Entry]
) -> list[Entry]:
    todo: dict[str, Entry] = {}
    # Two feeds may announce the same URL in one run: it is registered once, fetched once.
    for entry in (e for p in polls for e in p.entries if e.url in fresh_urls):
        todo.setdefault(entry.url, entry)
    for entry in retries:
        todo.setdefault(entry.url, entry)
    return list(todo.values())


@flow(
    name="collect",
    # Prefect 3.9 types a fresh runner as ThreadPoolTaskRunner[Never]; the flow accepts it.
    task_runner=cast(Any, ThreadPoolTaskRunner(max_workers=TASK_THREADS)),
    persist_result=False,
    log_prints=False,
)
def collect(
    sources: str | None = None, db: str | None = None, show_progress: bool | None = None
) -> dict[str, Any]:
    """Poll every source, fetch and extract new pages, store articles; return the summary."""
    logger = get_run_logger()
    settings = load_settings(db_url=db, sources_path=sources)
    config = load_sources(settings.sources_path)
    feeds = config.feeds  # sitemaps and archives are read by backfill
    Classifier.from_seeds(settings.seeds_dir)  # bad seed files stop the run before any work
    database = open_database(settings.db_url, upgrade=settings.auto_upgrade)
    started = datetime.now(UTC)
    clock = time.monotonic()
    try:
        with (
            recorded_run(
                database, "collect", started, sources_path=str(settings.sources_path)
            ) as run_id,
            # Entered first: a Dask cluster that cannot be reached stops the run before any work.
            page_runner(settings) as runner,
        ):
            states = sync_sources(database, feeds, started)
            validators = {name: state.validators for name, state in states.items()}
            source_ids = {name: state.id for name, state in states.items()}
            by_name = {s.name: s for s in feeds}
            resting = _resting(states, config.fetch, started)
            due = [s for s in feeds if s.name not in resting]
            polls = _poll_all(due, validators, config.fetch, started) + [
                PollResult(
                    name,
                    PollStatus.RESTING,
                    warnings=(
                        f"not polled: {states[name].consecutive_failures} failures in a row, "
                        f"resting until {until:%Y-%m-%d %H:%M} UTC",
                    ),
                )
                for name, until in resting.items()
            ]
            fresh_entries = [e for p in polls for e in p.entries]
            fresh_urls = register_entries(database, fresh_entries, source_ids, started)
            retries = retry_entries(database, list(by_name), config.fetch.max_attempts, started)
            todo = _entries_to_fetch(polls, fresh_urls, retries)
            fresh_by_source = Counter(e.source for e in fresh_entries if e.url in fresh_urls)
            tally = Tally(polls, fresh_by_source)
            logger.info(
                "polled %d sources: %d entries, %d new, %d to retry",
                len(polls),
                len(fresh_entries),
                len(fresh_urls),
                len(todo) - len(fresh_urls),
            )

            def stored(index: int, outcomes: list[PageOutcome], counts: SavedCounts) -> None:
                tally.add(
                    counts.new,
                    counts.unchanged,
                    [o.failure for o in outcomes if o.failure is not None],
                )

            with progress.page_progress(show_progress) as bar:
                bar.grow(len(todo))
                fetch_and_store(
                    batches(todo, config.fetch.batch_size),
                    runner=runner,
                    in_flight=batches_in_flight(runner),
                    sources=by_name,
                    fetch=config.fetch,
                    now=started,
                    db_url=settings.db_url,
                    source_ids=source_ids,
                    run_id=run_id,
                    on_stored=stored,
                )
            clustering = cluster_articles.submit(
                settings.db_url, str(settings.entities_path), started
            ).result()
            tracking = classify_articles.submit(
                settings.db_url, str(settings.seeds_dir), started
            ).result()
            # Validators are saved only now: had the run died earlier, the next run must not be
            # told "304 not modified" for entries whose pages were never stored.
            record_polls(database, polls, datetime.now(UTC))
            _record_poll_failures(database, polls, run_id)
            finished = started + _elapsed(clock)
            summary = tally.summary(run_id, started, finished, clustering, tracking)
            finish_run(database, summary)
    finally:
        database.dispose()
    data = summary_json(summary)
    create_table_artifact(
        key="collect-summary", table=artifact_rows(data), description=f"collect run {run_id}"
    )
    logger.info(
        "run %d: %d new articles, %d unchanged, %d failed in %.1f s",
        run_id,
        summary.total("new"),
        summary.total("unchanged"),
        summary.total("failed"),
        summary.duration_s,
    )
    _alerts_after(settings.alerts_path, settings.db_url)
    return data


def _alerts_after(rules: Path, db_url: str) -> None:
    """Run the alerts flow when a rule can send (its channel variables are set). Alerts that
    fail are kept for the next run; they never fail the collect."""
    logger = get_run_logger()
    try:
        if not rules.exists() or not ready_rules(
            load_rules(rules), ChannelSecrets(), DispatchReport()
        ):
            return
        alerts(rules=str(rules), db=db_url)
    except Exception as exc:  # the articles are stored; the alerts wait for the next run
        logger.warning("alerts after collect failed: %s: %s", exc.__class__.__name__, exc)


def _elapsed(start: float) -> timedelta:
    return timedelta(seconds=time.monotonic() - start)


def _resting(
    states: Mapping[str, SourceState], fetch: FetchSettings, now: datetime
) -> dict[str, datetime]:
    """The sources that rest this run (failing ones, see pipeline.backoff), with their end."""
    found = {}
    for name, state in states.items():
        until = rest_until(
            state.consecutive_failures,
            state.last_polled_at,
            fetch.source_backoff,
            fetch.source_backoff_max,
        )
        if until is not None and until > now:
            found[name] = until
    return found


def _record_poll_failures(database: Database, polls: Sequence[PollResult], run_id: int) -> None:
    failures = [p.failure for p in polls if p.status is PollStatus.FAILED and p.failure]
    record_failures(database, failures, run_id, datetime.now(UTC))
