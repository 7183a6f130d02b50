"""WARC and WARC.gz archives (e.g. Common Crawl's CC-NEWS) into pages ready to extract.

Only HTTP responses with status 200 and an HTML content type are kept. A page cannot have
been published after it was captured, so records captured before the window starts are
skipped without reading their bodies; the published date itself is known only after
extraction, and the backfill checks it against the window then.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from pipeline.errors import FeedError
from pipeline.records import Entry, Page, Source
from pipeline.urls import normalize

log = logging.getLogger(__name__)

_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(slots=True)
class WarcStats:
    """What reading one archive saw."""

    records: int = 0
    responses: int = 0
    html: int = 0
    before_window: int = 0
    too_large: int = 0
    unusable: int = 0


@dataclass(frozen=True, slots=True)
class ArchivedPage:
    """An HTML response from an archive, as the entry and page the extractor takes."""

    entry: Entry
    page: Page
    captured_at: datetime


def _captured(record: Any) -> datetime | None:
    raw = record.rec_headers.get_header("WARC-Date")
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def read_warc(
    stream: BinaryIO,
    source: Source,
    *,
    since: datetime,
    max_page_bytes: int,
    stats: WarcStats | None = None,
) -> Iterator[ArchivedPage]:
    """The HTML pages of a WARC stream captured at or after ``since``; gzip is detected."""
    counts = stats if stats is not None else WarcStats()
    try:
        for record in ArchiveIterator(stream, arc2warc=True):
            counts.records += 1
            if record.rec_type != "response" or record.http_headers is None:
                continue
            counts.responses += 1
            ctype = (record.http_headers.get_header("Content-Type") or "").lower()
            status = record.http_headers.get_statuscode()
            if status != "200" or not ctype.startswith(_HTML_TYPES):
                continue
            counts.html += 1
            target = (record.rec_headers.get_header("WARC-Target-URI") or "").strip("<> ")
            url = normalize(target) if target else None
            captured = _captured(record)
            if url is None or captured is None:
                counts.unusable += 1
                continue
            if captured < since:
                counts.before_window += 1
                continue
            body = record.content_stream().read(max_page_bytes + 1)
            if len(body) > max_page_bytes:
                counts.too_large += 1
                continue
            headers = tuple(
                (str(k), str(v))
                for k, v in record.http_headers.headers
                # content_stream() has already undone these; the extractor must not redo them.
                if k.lower() not in ("content-encoding", "transfer-encoding", "content-length")
            )
            yield ArchivedPage(
                entry=Entry(
                    source=source.name,
                    url=url,
                    link=target.split("#", 1)[0],
                    lang=source.lang,
                    robots=False,  # the archive was captured already; nothing is fetched
                ),
                page=Page(target, target, 200, headers, body, captured),
                captured_at=captured,
            )
    except ArchiveLoadFailed as exc:
        raise FeedError(f"not a readable WARC file: {exc}") from exc
