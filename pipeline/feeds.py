"""Feeds: RSS 0.9x/1.0/2.0 and Atom bytes into :class:`~pipeline.records.Entry` records.

feedparser only ever sees bytes we fetched (never a URL: it would do its own HTTP). Its ``bozo``
flag is not fatal: a feed with broken XML but usable entries keeps them and reports a warning;
a document with no entries is a failed source. Dates are parsed by ``pipeline.dates`` from the
raw strings, because feedparser's own fallback invents dates (see that module).
"""

from __future__ import annotations

import html
import io
import logging
import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import feedparser

from pipeline.dates import parse_date
from pipeline.errors import FeedError
from pipeline.records import Entry, Page, Source
from pipeline.urls import normalize, resolve

log = logging.getLogger(__name__)

# Zone-less feed times are local times of the outlet; the language is the best hint we have.
_ZONE_BY_LANG = {"ko": "Asia/Seoul", "zh": "Asia/Shanghai", "ja": "Asia/Tokyo"}
# As in HTML's tokenizer, "<" starts a tag only before a letter, "/", "!" or "?"; "a < b" is text.
_TAGS = re.compile(r"<[A-Za-z/!?][^>]{0,2000}>")
_SPACE = re.compile(r"\s+")
_LANG_SEPARATOR = re.compile(r"[-_]")  # "ko-KR", and "zh_CN" as some CMSs write it
_LANG_CODE = re.compile(r"[a-z]{2,8}")  # BCP 47 primary subtags
_DATE_KEYS = ("published", "updated", "created")  # "issued"/"date" are aliases of these


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """Entries of one fetched feed, with what was skipped and why."""

    entries: tuple[Entry, ...]
    skipped: int
    warnings: tuple[str, ...]
    title: str = ""
    prev_archive: str | None = None  # RFC 5005: the next older page of an archived feed


def primary_language(tag: str | None) -> str | None:
    """``ko`` from ``ko-KR``, ``zh`` from ``zh_CN``; None for an empty or malformed tag."""
    primary = _LANG_SEPARATOR.split(tag or "", maxsplit=1)[0].strip().lower()
    return primary if _LANG_CODE.fullmatch(primary) else None


def source_zone(source: Source, feed_lang: str | None = None) -> tzinfo | None:
    """Time zone for zone-less dates of a source: declared, else by language, else None (UTC)."""
    if source.timezone:
        return zoneinfo.ZoneInfo(source.timezone)
    name = _ZONE_BY_LANG.get(primary_language(source.lang or feed_lang) or "")
    return zoneinfo.ZoneInfo(name) if name else None


def plain_text(markup: str, limit: int = 2000, *, is_html: bool = True) -> str:
    """Markup reduced to one line of text (feed titles and summaries may carry HTML).

    With ``is_html=False`` the text is taken as it is: "prices < $1 > rivals" in a plain-text
    title is not a tag to remove.
    """
    text = _TAGS.sub(" ", markup or "") if is_html else markup or ""
    return _SPACE.sub(" ", html.unescape(text)).strip()[:limit]


def _field_text(container: Any, key: str, limit: int) -> str:
    """The text of a feedparser field, stripping tags only when feedparser saw HTML."""
    detail = container.get(f"{key}_detail") or {}
    is_html = "html" in str(detail.get("type", "text/html"))
    return plain_text(container.get(key, ""), limit, is_html=is_html)


def _entry_link(item: Any, base: str) -> str | None:
    candidates: list[str] = []
    if item.get("link"):
        candidates.append(item["link"])
    for link in item.get("links") or ():
        if link.get("href") and link.get("rel", "alternate") == "alternate":
            candidates.append(link["href"])
    guid = item.get("id") or ""
    if guid and item.get("guidislink", True):
        candidates.append(guid)
    for candidate in candidates:
        resolved = resolve(candidate, base)
        if normalize(resolved):
            return resolved
    return None


def _entry_date(item: Any, now: datetime, zone: tzinfo | None) -> datetime | None:
    for key in _DATE_KEYS:
        # dict.get: FeedParserDict.get("updated") falls back to "published" with a warning.
        raw = dict.get(item, key)
        if isinstance(raw, str) and raw.strip():
            parsed = parse_date(raw, now=now, default_tz=zone)
            if parsed is not None:
                return parsed
    return None


def _looks_like_html(body: bytes) -> bool:
    head = body[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:512]


def parse_feed(page: Page, source: Source, *, now: datetime, max_entries: int = 500) -> ParsedFeed:
    """Parse a fetched feed; raise FeedError when it has no entries.

    At most ``max_entries`` entries are kept, in feed order (newest first in practice): a hostile
    or broken feed of a hundred thousand items must not turn into a day of fetching.
    """
    headers = {"content-location": page.final_url}
    ctype = page.header("Content-Type")
    if ctype:
        headers["content-type"] = ctype
    try:
        # A stream, never bare bytes: feedparser tries open(bytes) first, so a body that
        # names a local file ("/etc/passwd", "/dev/zero") would be read from our own disk.
        parsed = feedparser.parse(
            io.BytesIO(page.body),
            response_headers=headers,
            resolve_relative_uris=True,
            sanitize_html=True,
        )
    except Exception as exc:  # feedparser raises arbitrary parser errors on hostile input
        raise FeedError(f"feed could not be parsed: {exc.__class__.__name__}: {exc}") from exc
    warnings: list[str] = []
    if parsed.get("bozo"):
        problem = parsed.get("bozo_exception")
        warnings.append(f"malformed feed: {problem.__class__.__name__}: {problem}"[:300])
    items = parsed.get("entries") or []
    if not items:
        if _looks_like_html(page.body):
            raise FeedError("an HTML page, not a feed")
        detail = f" ({warnings[0]})" if warnings else ""
        raise FeedError(f"no entries in the feed{detail}")
    feed_lang = (parsed.get("feed") or {}).get("language")
    lang = source.lang or primary_language(feed_lang)
    zone = source_zone(source, feed_lang)
    entries: list[Entry] = []
    seen: set[str] = set()
    skipped = 0
    over_cap = 0
    for item in items:
        if len(entries) >= max_entries:
            over_cap += 1
            continue
        link = _entry_link(item, page.final_url)
        url = normalize(link) if link else None
        if link is None or url is None:
            skipped += 1
            continue
        if url in seen:
            continue
        seen.add(url)
        entries.append(
            Entry(
                source=source.name,
                url=url,
                link=link.split("#", 1)[0],
                title=_field_text(item, "title", 500),
                summary=_field_text(item, "summary", 2000),
                published_at=_entry_date(item, now, zone),
                lang=lang,
                robots=source.robots,
            )
        )
    if skipped:
        warnings.append(f"{skipped} entries without a usable link skipped")
    if over_cap:
        warnings.append(f"{over_cap} entries beyond max_entries={max_entries} skipped")
        skipped += over_cap
    title = _field_text(parsed.get("feed") or {}, "title", 300)
    return ParsedFeed(
        tuple(entries), skipped, tuple(warnings), title, _prev_archive(parsed, page.final_url)
    )


def _prev_archive(parsed: Any, base: str) -> str | None:
    """The ``prev-archive`` link of an RFC 5005 archived feed, resolved; None if absent."""
    for link in (parsed.get("feed") or {}).get("links") or ():
        rel = str(dict.get(link, "rel") or "").lower()
        href = dict.get(link, "href")
        if rel == "prev-archive" and isinstance(href, str) and href.strip():
            target = resolve(href, base)
            return target if normalize(target) else None
    return None
