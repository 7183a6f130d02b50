"""Sitemaps for a sample newsroom, as news sites publish them: an index of monthly sitemaps.

For tests and benchmarks of backfills (served by :class:`flows.loopback.LoopbackSite` next to
the pages of :func:`flows.newsroom.render_site`). Each monthly sitemap is a Google-News
sitemap (``news:publication_date``, ``news:title``, ``news:language``) and the index gives each
month's ``lastmod``; chosen months are served gzipped as ``.xml.gz``.
"""

from __future__ import annotations

import gzip
from collections import defaultdict
from collections.abc import Collection
from datetime import UTC
from xml.sax.saxutils import escape

from flows.loopback import Route
from flows.newsroom import Newsroom, Story, article_path

INDEX_PATH = "/sitemap_index.xml"
_NS = (
    'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
    'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
)


def month_path(month: str, gzipped: bool) -> str:
    """Site path of the sitemap of ``month`` (``YYYY-MM``)."""
    return f"/sitemaps/{month}.xml" + (".gz" if gzipped else "")


def _url(story: Story, base_url: str, lang: str, outlet_name: str) -> str:
    when = story.published.astimezone(UTC).isoformat()
    return (
        f"<url><loc>{escape(base_url + article_path(story))}</loc><lastmod>{when}</lastmod>"
        f"<news:news><news:publication><news:name>{escape(outlet_name)}</news:name>"
        f"<news:language>{lang}</news:language></news:publication>"
        f"<news:publication_date>{when}</news:publication_date>"
        f"<news:title>{escape(story.title)}</news:title></news:news></url>"
    )


def render_sitemaps(
    newsroom: Newsroom, base_url: str, *, gzip_months: Collection[str] = ()
) -> dict[str, Route]:
    """Routes for a sitemap index and one sitemap per month of the newsroom's articles."""
    outlets = {o.id: o for o in newsroom.outlets}
    months: dict[str, list[Story]] = defaultdict(list)
    for story in newsroom.articles:
        months[story.published.astimezone(UTC).strftime("%Y-%m")].append(story)
    routes: dict[str, Route] = {}
    index = []
    for month in sorted(months):
        stories = months[month]
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {_NS}>'
            + "".join(
                _url(s, base_url, outlets[s.outlet].lang, outlets[s.outlet].name) for s in stories
            )
            + "</urlset>"
        ).encode()
        gzipped = month in gzip_months
        path = month_path(month, gzipped)
        if gzipped:
            routes[path] = Route(gzip.compress(body), content_type="application/gzip")
        else:
            routes[path] = Route(body, content_type="application/xml")
        newest = max(s.published for s in stories).astimezone(UTC).isoformat()
        index.append(
            f"<sitemap><loc>{escape(base_url + path)}</loc><lastmod>{newest}</lastmod></sitemap>"
        )
    routes[INDEX_PATH] = Route(
        (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(index)
            + "</sitemapindex>"
        ).encode(),
        content_type="application/xml",
    )
    return routes
