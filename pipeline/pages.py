"""Fetching and extracting a batch of pages: network lanes in threads, extraction in processes.

Extraction is the CPU hot path, so it runs in a process pool (one worker per core by default)
while threads keep fetching: each host gets at most ``per_host_concurrency`` lanes, all lanes
together at most ``concurrency``. Pages wait for a free extraction worker in a bounded queue,
so memory stays flat however fast the network is. Worker processes come from a ``forkserver``
that has already imported the extraction stack: forking the multi-threaded main process (Prefect
runs threads) could deadlock, and spawning fresh interpreters would re-import trafilatura.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import zoneinfo
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

from pipeline.errors import ExtractError, FetchError, UnsupportedContentError
from pipeline.extract import extract_page
from pipeline.feeds import source_zone
from pipeline.fetch import Fetcher
from pipeline.records import Entry, Failure, Page, PageOutcome, Source, Stage
from pipeline.settings import FetchSettings
from pipeline.urls import host_port

log = logging.getLogger(__name__)

OnDone = Callable[[PageOutcome], None]


def extract_entry(page: Page, entry: Entry, zone_name: str | None, now: datetime) -> PageOutcome:
    """Extract one fetched page into an article outcome (runs in a worker process)."""
    zone = zoneinfo.ZoneInfo(zone_name) if zone_name else None
    try:
        article = extract_page(
            page, source=entry.source, lang_hint=entry.lang, default_tz=zone, now=now
        )
    except (ExtractError, UnsupportedContentError) as exc:
        return PageOutcome(
            entry,
            failure=Failure(
                Stage.EXTRACT, entry.source, entry.link, exc.reason, str(exc), page.status
            ),
        )
    except Exception as exc:  # a parser crash on one hostile page must not end the batch
        return PageOutcome(
            entry,
            failure=Failure(
                Stage.EXTRACT,
                entry.source,
                entry.link,
                "extract_crash",
                f"{exc.__class__.__name__}: {exc}"[:500],
                page.status,
            ),
        )
    # The feed's date is the outlet's own statement; the page's date is the fallback.
    article = replace(
        article,
        published_at=entry.published_at or article.published_at,
        title=article.title or entry.title,
    )
    return PageOutcome(entry, article=article)


def _fetch_one(fetcher: Fetcher, entry: Entry) -> Page | PageOutcome:
    """The entry's page, or its failure as an outcome."""
    try:
        return fetcher.fetch_page(entry.link, check_robots=entry.robots)
    except FetchError as exc:
        log.info("page failed source=%s url=%s reason=%s", entry.source, entry.link, exc.reason)
        reason, detail, status = exc.reason, str(exc), exc.status
    except Exception as exc:  # an unforeseen crash on one page must not end the batch
        log.exception("page fetch crashed source=%s url=%s", entry.source, entry.link)
        reason, detail, status = "internal_error", f"{exc.__class__.__name__}: {exc}"[:500], None
    failure = Failure(Stage.FETCH, entry.source, entry.link, reason, detail, status)
    return PageOutcome(entry, failure=failure)


def worker_count(configured: int) -> int:
    """Extraction processes to use: ``configured``, or one per usable core when 0."""
    if configured > 0:
        return configured
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def extraction_pool(workers: int) -> Iterator[Executor]:
    """A process pool for extraction, or a single thread when ``workers`` is 1."""
    if workers <= 1:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract") as inline:
            yield inline
        return
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["pipeline.extract", "pipeline.pages"])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield pool


def fetch_and_extract(
    entries: Sequence[Entry],
    sources: dict[str, Source],
    settings: FetchSettings,
    now: datetime,
    *,
    workers: int = 0,
    on_done: OnDone | None = None,
    fetcher: Fetcher | None = None,
) -> list[PageOutcome]:
    """Fetch and extract ``entries``; every entry comes back as an article or a failure."""
    if not entries:
        return []
    queues: dict[str, deque[Entry]] = defaultdict(deque)
    for entry in entries:
        queues[host_port(entry.link)].append(entry)
    processes = worker_count(workers)
    backlog = threading.BoundedSemaphore(processes * 4)
    outcomes: list[PageOutcome] = []
    pending: list[Future[PageOutcome]] = []
    lock = threading.Lock()

    def done(outcome: PageOutcome) -> None:
        with lock:
            outcomes.append(outcome)
        if on_done is not None:
            on_done(outcome)

    def settled(future: Future[PageOutcome]) -> None:
        backlog.release()
        error = future.exception()
        if error is not None:  # the worker process died (out of memory, killed)
            log.error("extraction worker failed detail=%s", error)
            return
        done(future.result())

    def lane(queue: deque[Entry], fetch: Fetcher, pool: Executor) -> None:
        while True:
            try:
                entry = queue.popleft()
            except IndexError:
                return
            page = _fetch_one(fetch, entry)
            if isinstance(page, PageOutcome):
                done(page)
                continue
            source = sources.get(entry.source)
            zone = source_zone(source) if source else None
            backlog.acquire()
            future = pool.submit(extract_entry, page, entry, getattr(zone, "key", None), now)
            with lock:
                pending.append(future)
            future.add_done_callback(settled)

    own_fetcher = fetcher is None
    fetch = fetcher or Fetcher(settings)
    try:
        with (
            extraction_pool(processes) as pool,
            ThreadPoolExecutor(
                max_workers=settings.concurrency, thread_name_prefix="fetch"
            ) as lanes,
        ):
            jobs = [
                lanes.submit(lane, queue, fetch, pool)
                for queue in queues.values()
                for _ in range(min(settings.per_host_concurrency, len(queue)))
            ]
            for job in jobs:
                job.result()
            for future in list(pending):
                future.exception()  # wait; results arrive through ``settled``
    finally:
        if own_fetcher:
            fetch.close()
    _account_for_lost(entries, outcomes, done)
    return outcomes


def _account_for_lost(
    entries: Sequence[Entry], outcomes: list[PageOutcome], done: Callable[[PageOutcome], None]
) -> None:
    """Entries whose worker died still come back, as failures: nothing is silently dropped."""
    seen = {outcome.entry.url for outcome in outcomes}
    for entry in entries:
        if entry.url not in seen:
            done(
                PageOutcome(
                    entry,
                    failure=Failure(
                        Stage.EXTRACT,
                        entry.source,
                        entry.link,
                        "extract_crash",
                        "extraction worker died",
                    ),
                )
            )
