"""Backfilling from a web archive (WARC): read, extract, keep what was published in the window.

The archive is read once from start to end. URLs already stored (by live collection or an
earlier backfill) are not extracted again. An extracted page is kept when its published date
(the page's own, else the capture date) falls inside the window; its entry is registered and
its article stored with the same code as live collection, so a URL is stored once whichever
path saw it first.

An archive is not ordered by day, so its days are recorded as done only once the whole file
has been read. A backfill that stops half-way reads the file again, but stores nothing twice
and extracts only the pages it had not stored.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

from pipeline.feeds import source_zone
from pipeline.fetch import Fetcher
from pipeline.fetch_settings import FetchSettings
from pipeline.history import DayRange, day_of
from pipeline.pages import Extractors, extract_entry, worker_count
from pipeline.records import PageOutcome, Source
from pipeline.store.database import Database
from pipeline.store.entries import register_entries, save_outcomes
from pipeline.store.windows import known_urls
from pipeline.warcs import ArchivedPage, WarcStats, read_warc

log = logging.getLogger(__name__)

ARCHIVE_TIMEOUT = 3600.0  # seconds to download one archive file
MAX_ARCHIVE_BYTES = 8 * 1024**3  # CC-NEWS files are about 1 GB


@dataclass(slots=True)
class ArchiveResult:
    """What backfilling one archive did."""

    source: str
    stats: WarcStats = field(default_factory=WarcStats)
    outside: int = 0  # extracted, but published outside the window
    known: int = 0  # already stored or failed before
    entries: int = 0  # kept inside the window
    new: Counter[date] = field(default_factory=Counter)
    unchanged: Counter[date] = field(default_factory=Counter)
    failed: Counter[date] = field(default_factory=Counter)
    outcomes: list[PageOutcome] = field(default_factory=list)  # failures only, for the summary
    error: str | None = None  # the archive could not be read


def cached_path(url: str, folder: Path) -> Path:
    """Where a downloaded archive is kept: one file per URL."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    name = os.path.basename(url.split("?", 1)[0]) or "archive.warc"
    return folder / f"{digest}-{name}"


@contextmanager
def open_archive(
    source: Source, fetch: FetchSettings, folder: Path, fetcher: Fetcher | None = None
) -> Iterator[BinaryIO]:
    """The archive of a ``warc`` source as a binary stream; a URL is downloaded once into
    ``folder`` (through the same guarded client as every fetch)."""
    location = source.url
    if location.lower().startswith(("http://", "https://")):
        target = cached_path(location, folder)
        if not target.exists():
            folder.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            own = fetcher is None
            client = fetcher or Fetcher(fetch)
            try:
                with open(partial, "wb") as sink:
                    client.get(
                        location,
                        headers={"Accept": "application/warc, application/gzip, */*"},
                        max_bytes=MAX_ARCHIVE_BYTES,
                        robots=source.robots,
                        sink=sink,
                        timeout=ARCHIVE_TIMEOUT,
                    )
                partial.replace(target)
            finally:
                partial.unlink(missing_ok=True)
                if own:
                    client.close()
        location = str(target)
    with open(location, "rb") as stream:
        yield stream


def _batches(pages: Iterator[ArchivedPage], size: int) -> Iterator[list[ArchivedPage]]:
    batch: list[ArchivedPage] = []
    for page in pages:
        batch.append(page)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def backfill_archive(
    db: Database,
    stream: BinaryIO,
    source: Source,
    window: DayRange,
    fetch: FetchSettings,
    *,
    source_ids: dict[str, int],
    run_id: int,
    now: datetime,
    on_batch: Callable[[int], None] | None = None,
) -> ArchiveResult:
    """Extract and store the pages of one archive published inside ``window``."""
    result = ArchiveResult(source.name)
    zone = source_zone(source)
    zone_name = getattr(zone, "key", None)
    extractors = Extractors(worker_count(fetch.extract_workers))
    try:
        pages = read_warc(
            stream,
            source,
            since=window.since,
            max_page_bytes=fetch.max_page_bytes,
            stats=result.stats,
        )
        for batch in _batches(pages, fetch.batch_size):
            states = known_urls(db, [p.entry.url for p in batch])
            todo = [p for p in batch if states.get(p.entry.url, "pending") == "pending"]
            result.known += len(batch) - len(todo)
            futures: list[tuple[ArchivedPage, Future[PageOutcome]]] = [
                (p, extractors.submit(extract_entry, p.page, p.entry, zone_name, now)) for p in todo
            ]
            kept = _in_window([(p, f.result()) for p, f in futures], window, result)
            if kept:
                register_entries(db, [o.entry for o in kept], source_ids, now)
            for day, group in _by_day(kept).items():
                counts = save_outcomes(db, group, source_ids, run_id, fetch.max_attempts, now)
                result.new[day] += counts.new[source.name]
                result.unchanged[day] += counts.unchanged[source.name]
                result.failed[day] += counts.failed[source.name]
                result.outcomes.extend(o for o in group if o.failure is not None)
            if on_batch is not None:
                on_batch(len(batch))
    finally:
        extractors.close()
    return result


def _in_window(
    done: Sequence[tuple[ArchivedPage, PageOutcome]], window: DayRange, result: ArchiveResult
) -> list[PageOutcome]:
    kept: list[PageOutcome] = []
    for archived, outcome in done:
        published = (
            outcome.article.published_at if outcome.article is not None else None
        ) or archived.captured_at
        if not window.holds(published):
            result.outside += 1
            continue
        entry = replace(outcome.entry, published_at=published)
        article = outcome.article
        if article is not None and article.published_at is None:
            article = replace(article, published_at=published)
        kept.append(replace(outcome, entry=entry, article=article))
    result.entries += len(kept)
    return kept


def _by_day(outcomes: Sequence[PageOutcome]) -> dict[date, list[PageOutcome]]:
    groups: dict[date, list[PageOutcome]] = defaultdict(list)
    for outcome in outcomes:
        assert outcome.entry.published_at is not None
        groups[day_of(outcome.entry.published_at)].append(outcome)
    return dict(groups)
