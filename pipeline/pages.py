"""Fetching and extracting a batch of pages: network lanes in threads, extraction in processes.

Extraction is the CPU hot path, so it runs in a process pool (one worker per core by default)
while threads keep fetching: each host gets at most ``per_host_concurrency`` lanes, all lanes
together at most ``concurrency``. Pages wait for a free extraction worker in a bounded queue,
so memory stays flat however fast the network is. Worker processes come from a ``forkserver``
that has already imported the extraction stack: forking the multi-threaded main process (Prefect
runs threads) could deadlock, and spawning fresh interpreters would re-import trafilatura.

Hostile pages are contained: each extraction has a time limit inside its worker, and a worker
that dies (the OOM killer, a crash in C code) fails only the pages it held, as transient
``extract_crash`` failures retried in a later run; the pool is replaced and the batch goes on.

A daemonic process may not start children, and a Dask worker under its nanny is one: there the
batch extracts in its own process, one page at a time while the lanes keep fetching, and Dask
runs many such processes. A parser exception is still that page's failure; a worker that dies
is Dask's to report (see ``flows/runners.py``); the time limit needs a main thread, which a
Dask task does not run in.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import zoneinfo
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import (
    CancelledError,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
)
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from functools import partial
from types import FrameType
from typing import Any

from pipeline.errors import (
    ExtractCrashError,
    ExtractError,
    ExtractTimeoutError,
    FetchError,
    NewswatchError,
    UnsupportedContentError,
)
from pipeline.extract import extract_page
from pipeline.feeds import source_zone
from pipeline.fetch import Fetcher
from pipeline.fetch_settings import FetchSettings
from pipeline.records import Entry, Failure, Page, PageOutcome, Source, Stage
from pipeline.urls import host_port

log = logging.getLogger(__name__)

OnDone = Callable[[PageOutcome], None]
EXTRACT_TIME_LIMIT = 60.0  # seconds per page; ordinary pages take milliseconds
MAX_POOL_RESTARTS = 3  # per batch: a page that kills every worker must not stall the batch


def _failure(
    entry: Entry, stage: Stage, error: NewswatchError | Exception, status: int | None = None
) -> PageOutcome:
    reason = getattr(error, "reason", "internal_error")
    detail = (
        str(error)
        if isinstance(error, NewswatchError)
        else (f"{error.__class__.__name__}: {error}")
    )
    failure = Failure(stage, entry.source, entry.link, reason, detail[:500], status)
    return PageOutcome(entry, failure=failure)


def _on_deadline(signum: int, frame: FrameType | None) -> None:
    raise ExtractTimeoutError(f"extraction took longer than {EXTRACT_TIME_LIMIT:g} s")


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    # Signals reach only the main thread: worker processes have it, the inline thread does not.
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _on_deadline)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def extract_entry(page: Page, entry: Entry, zone_name: str | None, now: datetime) -> PageOutcome:
    """Extract one fetched page into an article outcome (runs in a worker process)."""
    zone = zoneinfo.ZoneInfo(zone_name) if zone_name else None
    try:
        with _time_limit(EXTRACT_TIME_LIMIT):
            article = extract_page(
                page, source=entry.source, lang_hint=entry.lang, default_tz=zone, now=now
            )
    except (ExtractError, UnsupportedContentError) as exc:
        return _failure(entry, Stage.EXTRACT, exc, page.status)
    except Exception as exc:  # a parser crash on one hostile page must not end the batch
        return _failure(
            entry, Stage.EXTRACT, ExtractCrashError(f"{exc.__class__.__name__}: {exc}"), page.status
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
        return _failure(entry, Stage.FETCH, exc, exc.status)
    except Exception as exc:  # an unforeseen crash on one page must not end the batch
        log.exception("page fetch crashed source=%s url=%s", entry.source, entry.link)
        return _failure(entry, Stage.FETCH, exc)


def can_start_processes() -> bool:
    """Whether this process may start worker processes (a daemonic one may not)."""
    return not multiprocessing.current_process().daemon


def worker_count(configured: int) -> int:
    """Extraction processes to use: ``configured``, or one per usable core when 0."""
    if configured > 0:
        return configured
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class Extractors:
    """The extraction pool of a batch, replaced when one of its workers dies."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._lock = threading.Lock()
        self._pools: list[Executor] = []
        self._current = self._new()
        self.restarts = 0

    def _new(self) -> Executor:
        pool: Executor
        if self._workers <= 1:
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract")
        else:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["pipeline.extract", "pipeline.pages"])
            pool = ProcessPoolExecutor(max_workers=self._workers, mp_context=context)
        self._pools.append(pool)
        return pool

    def submit(self, fn: Callable[..., PageOutcome], *args: Any) -> Future[PageOutcome]:
        """Submit to the current pool, replacing it once if it turns out to be broken."""
        with self._lock:
            pool = self._current
        try:
            return pool.submit(fn, *args)
        except BrokenProcessPool:
            with self._lock:
                if self._current is pool and self.restarts < MAX_POOL_RESTARTS:
                    self.restarts += 1
                    log.warning(
                        "extraction pool broken, starting a new one restart=%d", self.restarts
                    )
                    pool.shutdown(wait=False, cancel_futures=True)
                    self._current = self._new()
                pool = self._current
            return pool.submit(fn, *args)  # raises again when out of restarts

    def close(self) -> None:
        """Wait for every pool this batch used."""
        for pool in self._pools:
            pool.shutdown(wait=True)


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
    if processes > 1 and not can_start_processes():
        # multiprocessing refuses (AssertionError) to start a pool from a daemonic process.
        log.debug("daemonic process, extracting in-process entries=%d", len(entries))
        processes = 1
    backlog = threading.BoundedSemaphore(processes * 4)
    outcomes: list[PageOutcome] = []
    pending: list[Future[PageOutcome]] = []
    lock = threading.Lock()

    def done(outcome: PageOutcome) -> None:
        with lock:
            outcomes.append(outcome)
        if on_done is not None:
            on_done(outcome)

    def settled(entry: Entry, status: int, future: Future[PageOutcome]) -> None:
        backlog.release()
        error = _error_of(future)
        if error is None:
            done(future.result())
            return
        log.error("extraction worker failed url=%s detail=%r", entry.link, error)
        done(
            _failure(
                entry,
                Stage.EXTRACT,
                ExtractCrashError(f"extraction worker died: {error!r}"),
                status,
            )
        )

    def lane(queue: deque[Entry], fetch: Fetcher, extractors: Extractors) -> None:
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
            try:
                future = extractors.submit(
                    extract_entry, page, entry, getattr(zone, "key", None), now
                )
            except (BrokenProcessPool, RuntimeError) as exc:
                backlog.release()
                done(
                    _failure(
                        entry,
                        Stage.EXTRACT,
                        ExtractCrashError(f"no extraction worker available: {exc!r}"),
                        page.status,
                    )
                )
                continue
            with lock:
                pending.append(future)
            future.add_done_callback(partial(settled, entry, page.status))

    own_fetcher = fetcher is None
    fetch = fetcher or Fetcher(settings)
    extractors = Extractors(processes)
    try:
        with ThreadPoolExecutor(
            max_workers=settings.concurrency, thread_name_prefix="fetch"
        ) as lanes:
            jobs = [
                lanes.submit(lane, queue, fetch, extractors)
                for queue in queues.values()
                for _ in range(min(settings.per_host_concurrency, len(queue)))
            ]
            for job in jobs:
                job.result()
        for future in list(pending):
            _error_of(future)  # wait; results arrive through ``settled``
    finally:
        extractors.close()
        if own_fetcher:
            fetch.close()
    _account_for_lost(entries, outcomes, done)
    return outcomes


def _error_of(future: Future[PageOutcome]) -> BaseException | None:
    """Wait for ``future``; its exception, or None (a cancelled future counts as failed)."""
    try:
        return future.exception()
    except CancelledError as exc:  # cancelled when a broken pool was shut down
        return exc


def _account_for_lost(
    entries: Sequence[Entry], outcomes: list[PageOutcome], done: Callable[[PageOutcome], None]
) -> None:
    """A last guard: an entry without an outcome comes back as a failure, never dropped."""
    seen = {outcome.entry.url for outcome in outcomes}
    for entry in entries:
        if entry.url not in seen:
            log.error("entry without an outcome url=%s", entry.link)
            done(_failure(entry, Stage.EXTRACT, ExtractCrashError("no outcome recorded")))
