"""Sitemaps: XML sitemaps, sitemap indexes and Google-News sitemaps into dated entries.

A sitemap is read from bytes we fetched, gzipped or not (``.xml.gz`` files are served as
``application/gzip``, not with a Content-Encoding). The XML parser resolves no entities and
loads nothing from the network; decompression is capped, as a sitemap may be 50 MB at most.

Dates: ``news:publication_date`` (Google News) first, else ``lastmod``. An entry without either
cannot be placed in a backfill window and is skipped, with a count in the warnings.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, tzinfo

# lxml ships no type information and the project does not depend on lxml-stubs.
from lxml import etree

from pipeline.dates import parse_date
from pipeline.errors import FeedError
from pipeline.feeds import plain_text, source_zone
from pipeline.records import Entry, Page, Source
from pipeline.urls import normalize, resolve

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit for an uncompressed file
_GZIP_MAGIC = b"\x1f\x8b"
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, recover=True, remove_comments=True
)


@dataclass(frozen=True, slots=True)
class SitemapLink:
    """A child sitemap listed in a sitemap index."""

    url: str
    lastmod: datetime | None


@dataclass(frozen=True, slots=True)
class ParsedSitemap:
    """One sitemap document: an index (``children``) or a URL set (``entries``)."""

    children: tuple[SitemapLink, ...] = ()
    entries: tuple[Entry, ...] = ()
    undated: int = 0
    skipped: int = 0

    @property
    def is_index(self) -> bool:
        """True for a sitemap index."""
        return bool(self.children)


def sitemap_bytes(body: bytes, cap: int = MAX_SITEMAP_BYTES) -> bytes:
    """The XML of a sitemap body, gunzipped when it is gzip, at most ``cap`` bytes."""
    if not body.startswith(_GZIP_MAGIC):
        return body
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        data = inflate.decompress(body, cap + 1)
    except zlib.error as exc:
        raise FeedError(f"corrupt gzip sitemap: {exc}") from exc
    if len(data) > cap:
        raise FeedError(f"sitemap above {cap} bytes once decompressed")
    return data


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child_text(element: etree._Element, *path: str) -> str | None:
    """The text of the first descendant following ``path`` of local names."""
    current = [element]
    for name in path:
        current = [c for parent in current for c in parent if _local(c.tag) == name]
        if not current:
            return None
    text = current[0].text
    return text.strip() if text and text.strip() else None


def parse_sitemap(page: Page, source: Source, *, now: datetime) -> ParsedSitemap:
    """Parse a fetched sitemap or sitemap index; raise FeedError when it is neither."""
    xml = sitemap_bytes(page.body)
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"sitemap could not be parsed: {exc}") from exc
    if root is None:
        raise FeedError("empty sitemap")
    kind = _local(root.tag)
    zone = source_zone(source)
    if kind == "sitemapindex":
        return _parse_index(root, page.final_url, now, zone)
    if kind == "urlset":
        return _parse_urlset(root, page.final_url, source, now, zone)
    raise FeedError(f"not a sitemap: the root element is <{kind or '?'}>")


def _parse_index(
    root: etree._Element, base: str, now: datetime, zone: tzinfo | None
) -> ParsedSitemap:
    children: list[SitemapLink] = []
    skipped = 0
    for item in root:
        if _local(item.tag) != "sitemap":
            continue
        loc = _child_text(item, "loc")
        url = resolve(loc, base) if loc else None
        if url is None or normalize(url) is None:
            skipped += 1
            continue
        lastmod = parse_date(_child_text(item, "lastmod"), now=now, default_tz=zone)
        children.append(SitemapLink(url, lastmod))
    if not children:
        raise FeedError("sitemap index without usable <sitemap> entries")
    return ParsedSitemap(children=tuple(children), skipped=skipped)


def _parse_urlset(
    root: etree._Element, base: str, source: Source, now: datetime, zone: tzinfo | None
) -> ParsedSitemap:
    entries: list[Entry] = []
    seen: set[str] = set()
    undated = skipped = 0
    for item in root:
        if _local(item.tag) != "url":
            continue
        loc = _child_text(item, "loc")
        link = resolve(loc, base) if loc else None
        url = normalize(link) if link else None
        if link is None or url is None:
            skipped += 1
            continue
        if url in seen:
            continue
        seen.add(url)
        published = parse_date(
            _child_text(item, "news", "publication_date"), now=now, default_tz=zone
        ) or parse_date(_child_text(item, "lastmod"), now=now, default_tz=zone)
        if published is None:
            undated += 1
            continue
        lang = _child_text(item, "news", "publication", "language")
        title = _child_text(item, "news", "title") or ""
        entries.append(
            Entry(
                source=source.name,
                url=url,
                link=link.split("#", 1)[0],
                title=plain_text(title, 500, is_html=False),
                published_at=published,
                lang=source.lang or (lang.split("-")[0].lower() if lang else None),
                robots=source.robots,
            )
        )
    return ParsedSitemap(entries=tuple(entries), undated=undated, skipped=skipped)
