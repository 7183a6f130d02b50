"""History sources for backfills: which entries a sitemap tree or an archived feed holds for
a range of days.

- ``sitemap``: from the source URL (a sitemap or a sitemap index) down the tree. A child
  sitemap whose ``lastmod`` is before the window has nothing newer and is not fetched.
- ``feed``: the feed and, where it offers RFC 5005 paging, its ``prev-archive`` pages, followed
  back until the oldest entry is older than the window.

Failures are values: a source whose root cannot be read is a failed discovery; a child that
fails is a failure in the list, and the discovery is then incomplete, so the days it covers
are not recorded as done and the next backfill tries again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from pipeline.errors import FeedError, FetchError
from pipeline.feeds import parse_feed
from pipeline.fetch import Fetcher
from pipeline.fetch.client import FEED_ACCEPT
from pipeline.records import Entry, Failure, Page, Source, Stage
from pipeline.sitemaps import MAX_SITEMAP_BYTES, parse_sitemap

log = logging.getLogger(__name__)

SITEMAP_ACCEPT = "application/xml, text/xml;q=0.9, application/gzip;q=0.8, */*;q=0.5"
MAX_DOCUMENTS = 5000  # sitemaps or archive pages read per source and backfill


@dataclass(frozen=True, slots=True)
class DayRange:
    """Whole UTC days from ``start`` to ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the range ends ({self.end}) before it starts ({self.start})")

    @property
    def since(self) -> datetime:
        """The first instant of the range."""
        return datetime.combine(self.start, time(), UTC)

    @property
    def until(self) -> datetime:
        """The first instant after the range."""
        return datetime.combine(self.end + timedelta(days=1), time(), UTC)

    def days(self) -> list[date]:
        """Every day of the range, in order."""
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def holds(self, moment: datetime) -> bool:
        """True when ``moment`` falls inside the range."""
        return self.since <= moment < self.until


def day_of(moment: datetime) -> date:
    """The UTC day of an aware datetime."""
    return moment.astimezone(UTC).date()


@dataclass(frozen=True, slots=True)
class Discovery:
    """The dated entries a history source holds inside a day range."""

    source: str
    entries: tuple[Entry, ...] = ()
    documents: int = 0
    outside: int = 0
    undated: int = 0
    skipped: int = 0
    warnings: tuple[str, ...] = ()
    failures: tuple[Failure, ...] = ()
    failed: bool = False  # the source itself could not be read

    @property
    def complete(self) -> bool:
        """True when every document was read: the days may be recorded as done."""
        return not self.failures

    def by_day(self) -> dict[date, list[Entry]]:
        """Entries grouped by their UTC publication day."""
        groups: dict[date, list[Entry]] = defaultdict(list)
        for entry in self.entries:
            assert entry.published_at is not None
            groups[day_of(entry.published_at)].append(entry)
        return dict(groups)


def discover(fetcher: Fetcher, source: Source, window: DayRange, now: datetime) -> Discovery:
    """The entries of ``source`` published inside ``window``; never raises for a bad source."""
    try:
        if source.kind == "sitemap":
            return _discover_sitemaps(fetcher, source, window, now)
        if source.kind == "feed":
            return _discover_feed_archive(fetcher, source, window, now)
    except Exception as exc:  # an unforeseen crash on one source must not end the backfill
        log.exception("discovery crashed source=%s", source.name)
        detail = f"{exc.__class__.__name__}: {exc}"[:500]
        failure = Failure(Stage.POLL, source.name, source.url, "internal_error", detail)
        return Discovery(source.name, failures=(failure,), failed=True)
    raise ValueError(f"{source.kind!r} sources are not discovered by URL")


def _read(fetcher: Fetcher, source: Source, url: str, accept: str) -> tuple[bytes, str] | Failure:
    try:
        page = fetcher.get(
            url, headers={"Accept": accept}, max_bytes=MAX_SITEMAP_BYTES, robots=source.robots
        )
    except FetchError as exc:
        log.warning("history read failed source=%s url=%s reason=%s", source.name, url, exc.reason)
        return Failure(Stage.POLL, source.name, url, exc.reason, str(exc)[:500], exc.status)
    return page.body, page.final_url


class _Collector:
    """Entries kept inside the window, once per URL, with counts of the rest."""

    def __init__(self, window: DayRange) -> None:
        self.window = window
        self.entries: dict[str, Entry] = {}
        self.outside = 0

    def add(self, entries: Sequence[Entry]) -> None:
        for entry in entries:
            if entry.published_at is None:
                continue
            if not self.window.holds(entry.published_at):
                self.outside += 1
            else:
                self.entries.setdefault(entry.url, entry)


def _discover_sitemaps(
    fetcher: Fetcher, source: Source, window: DayRange, now: datetime
) -> Discovery:
    kept = _Collector(window)
    queue = [source.url]
    seen = {source.url}
    failures: list[Failure] = []
    warnings: list[str] = []
    documents = undated = skipped = pruned = 0
    while queue:
        if documents >= MAX_DOCUMENTS:
            warnings.append(f"stopped after {MAX_DOCUMENTS} sitemaps; {len(queue)} not read")
            break
        url = queue.pop(0)
        read = _read(fetcher, source, url, SITEMAP_ACCEPT)
        if isinstance(read, Failure):
            failures.append(read)
            continue
        body, final = read
        documents += 1
        try:
            parsed = parse_sitemap(Page(url, final, 200, (), body, now), source, now=now)
        except FeedError as exc:
            failures.append(Failure(Stage.POLL, source.name, url, exc.reason, str(exc)[:500]))
            continue
        for child in parsed.children:
            if child.lastmod is not None and child.lastmod < window.since:
                pruned += 1  # changed last before the window: nothing in it is newer
            elif child.url not in seen:
                seen.add(child.url)
                queue.append(child.url)
        kept.add(parsed.entries)
        undated += parsed.undated
        skipped += parsed.skipped
    if undated:
        warnings.append(f"{undated} URLs without lastmod or publication date skipped")
    if pruned:
        log.info(
            "sitemaps not read (lastmod before the window) source=%s n=%d", source.name, pruned
        )
    return Discovery(
        source.name,
        tuple(kept.entries.values()),
        documents,
        kept.outside,
        undated,
        skipped,
        tuple(warnings),
        tuple(failures),
        failed=documents == 0,
    )


def _discover_feed_archive(
    fetcher: Fetcher, source: Source, window: DayRange, now: datetime
) -> Discovery:
    kept = _Collector(window)
    url: str | None = source.url
    seen: set[str] = set()
    failures: list[Failure] = []
    warnings: list[str] = []
    documents = skipped = 0
    oldest: datetime | None = None
    while url is not None and url not in seen:
        if documents >= MAX_DOCUMENTS:
            warnings.append(f"stopped after {MAX_DOCUMENTS} archive pages")
            break
        seen.add(url)
        read = _read(fetcher, source, url, FEED_ACCEPT)
        if isinstance(read, Failure):
            failures.append(read)
            break
        body, final = read
        documents += 1
        try:
            parsed = parse_feed(
                Page(url, final, 200, (), body, now),
                source,
                now=now,
                max_entries=fetcher.settings.max_entries,
            )
        except FeedError as exc:
            failures.append(Failure(Stage.POLL, source.name, url, exc.reason, str(exc)[:500]))
            break
        kept.add(parsed.entries)
        skipped += parsed.skipped
        dates = [e.published_at for e in parsed.entries if e.published_at is not None]
        if dates:
            oldest = min([*dates, oldest] if oldest else dates)
        if oldest is not None and oldest < window.since:
            break  # the window is covered
        url = parsed.prev_archive
    if url is None and documents and (oldest is None or oldest >= window.since):
        warnings.append(
            "the feed goes back only to "
            + (oldest.date().isoformat() if oldest else "undated entries")
            + " and offers no older archive pages (RFC 5005 prev-archive)"
        )
    return Discovery(
        source.name,
        tuple(kept.entries.values()),
        documents,
        kept.outside,
        0,
        skipped,
        tuple(warnings),
        tuple(failures),
        failed=documents == 0,
    )
