"""Sitemap parsing: indexes, URL sets, Google-News dates, gzip, and hostile XML."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from pipeline.errors import FeedError
from pipeline.records import Page, Source
from pipeline.sitemaps import parse_sitemap, sitemap_bytes

NOW = datetime(2025, 6, 1, tzinfo=UTC)
SOURCE = Source(name="s", url="https://news.example/sitemap.xml", kind="sitemap")


def page(body: bytes, url: str = "https://news.example/sitemap.xml") -> Page:
    return Page(url, url, 200, (), body, NOW)


def test_index_lists_children_with_lastmod() -> None:
    body = b"""<?xml version="1.0"?>
    <sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>/sitemaps/2025-01.xml</loc><lastmod>2025-01-31</lastmod></sitemap>
      <sitemap><loc>https://news.example/sitemaps/2025-02.xml.gz</loc></sitemap>
      <sitemap><loc>javascript:alert(1)</loc></sitemap>
    </sitemapindex>"""
    parsed = parse_sitemap(page(body), SOURCE, now=NOW)
    assert parsed.is_index
    assert [(c.url, c.lastmod) for c in parsed.children] == [
        ("https://news.example/sitemaps/2025-01.xml", datetime(2025, 1, 31, tzinfo=UTC)),
        ("https://news.example/sitemaps/2025-02.xml.gz", None),
    ]
    assert parsed.skipped == 1


def test_urlset_prefers_news_publication_date_and_skips_undated() -> None:
    body = """<?xml version="1.0" encoding="UTF-8"?>
    <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
            xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
      <url><loc>https://news.example/a.html</loc><lastmod>2025-03-05T00:00:00Z</lastmod>
        <news:news><news:publication><news:name>N</news:name>
        <news:language>zh-cn</news:language></news:publication>
        <news:publication_date>2025-02-10T08:00:00+08:00</news:publication_date>
        <news:title>大模型 降价</news:title></news:news></url>
      <url><loc>https://news.example/b.html</loc><lastmod>2025-02-11</lastmod></url>
      <url><loc>https://news.example/c.html</loc></url>
      <url><loc>https://news.example/b.html</loc><lastmod>2025-02-11</lastmod></url>
    </urlset>""".encode()
    parsed = parse_sitemap(page(body), SOURCE, now=NOW)
    assert not parsed.is_index
    by_url = {e.url: e for e in parsed.entries}
    assert set(by_url) == {"https://news.example/a.html", "https://news.example/b.html"}
    a = by_url["https://news.example/a.html"]
    assert a.published_at == datetime(2025, 2, 10, 0, 0, tzinfo=UTC)
    assert (a.title, a.lang) == ("大模型 降价", "zh")
    assert by_url["https://news.example/b.html"].published_at == datetime(2025, 2, 11, tzinfo=UTC)
    assert parsed.undated == 1


def test_gzipped_sitemap_is_read_and_a_gzip_bomb_is_refused() -> None:
    body = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url>'
        b"<loc>https://news.example/a.html</loc><lastmod>2025-02-01</lastmod></url></urlset>"
    )
    assert len(parse_sitemap(page(gzip.compress(body)), SOURCE, now=NOW).entries) == 1
    bomb = gzip.compress(b"<" + b"a" * (5 * 1024 * 1024))
    with pytest.raises(FeedError, match="above"):
        sitemap_bytes(bomb, cap=1024 * 1024)


def test_entities_are_not_expanded_and_external_ones_not_loaded(tmp_path: object) -> None:
    body = b"""<?xml version="1.0"?>
    <!DOCTYPE urlset [
      <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
      <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
      <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
      <!ENTITY secret SYSTEM "file:///etc/passwd">
    ]>
    <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <url><loc>https://news.example/&c;</loc><lastmod>2025-02-01</lastmod></url>
      <url><loc>https://news.example/x&secret;</loc><lastmod>2025-02-01</lastmod></url>
    </urlset>"""
    parsed = parse_sitemap(page(body), SOURCE, now=NOW)
    for entry in parsed.entries:
        assert "root:" not in entry.url
        assert "a" * 100 not in entry.url


@pytest.mark.parametrize(
    "body",
    [b"<html><body>not a sitemap</body></html>", b"", b"\x1f\x8bnot gzip at all"],
)
def test_documents_that_are_not_sitemaps_are_errors(body: bytes) -> None:
    with pytest.raises(FeedError):
        parse_sitemap(page(body), SOURCE, now=NOW)
