"""A sample newsroom rendered into routes for :class:`flows.loopback.LoopbackSite`.

Outlets and articles are data (``seeds/demo/newsroom.yaml`` for the demo; generated ones for
benchmarks and tests). Each outlet gets a feed (RSS 2.0, RSS 1.0 or Atom, UTF-8 or EUC-KR) and
article pages that look like real news pages: navigation, inline scripts, a related-stories
block and a footer around the article, so extraction has boilerplate to remove.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flows.loopback import Route
from pipeline.errors import ConfigError

_FEED_TYPES = {
    "rss2": "application/rss+xml",
    "rss1": "application/rdf+xml",
    "atom": "application/atom+xml",
}
_NAV = {
    "ko": ["홈", "정치", "경제", "사회", "국제", "IT·과학", "문화", "오피니언", "많이 본 뉴스"],
    "en": ["Home", "Politics", "Business", "Technology", "AI", "Science", "Opinion", "Video"],
    "zh": ["首页", "科技", "财经", "人工智能", "汽车", "创投", "观点", "视频"],
}
_RELATED = {"ko": "관련 기사", "en": "Related stories", "zh": "相关阅读"}
_FOOTER = {
    "ko": "무단 전재 및 재배포 금지. 고객센터 02-000-0000. 개인정보처리방침 | 청소년보호정책",
    "en": "All rights reserved. Contact us | Privacy policy | Terms of use | Advertise",
    "zh": "版权所有，未经授权不得转载。联系我们 | 隐私政策 | 广告合作",
}


class Outlet(BaseModel):
    """One fictional outlet of the newsroom."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    name: str
    lang: str
    feed: str = Field(pattern=r"^(rss2|rss1|atom)$")
    encoding: str = Field("utf-8", pattern=r"^(utf-8|euc-kr)$")
    timezone: str = "UTC"


class Story(BaseModel):
    """One article of the newsroom."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outlet: str
    slug: str = Field(pattern=r"^[a-z0-9-]+$")
    published: datetime
    title: str
    author: str = ""
    summary: str = ""
    paragraphs: list[str] = Field(min_length=1)


class Newsroom(BaseModel):
    """Outlets and their articles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outlets: list[Outlet]
    articles: list[Story]


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """Knobs for tests and benchmarks."""

    padding: int = 0  # extra boilerplate blocks per page (menus, scripts, related lists)
    tracking: bool = True  # add utm_* parameters to feed links, as many outlets do
    meta_charset_only: bool = True  # EUC-KR pages declare their charset only in a meta tag


def load_newsroom(path: Path) -> Newsroom:
    """Read and validate a newsroom file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        newsroom = Newsroom.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read newsroom: {exc}", path=str(path)) from exc
    except ValidationError as exc:
        raise ConfigError(f"invalid newsroom: {exc}", path=str(path)) from exc
    ids = {o.id for o in newsroom.outlets}
    for story in newsroom.articles:
        if story.outlet not in ids:
            raise ConfigError(
                f"article {story.slug!r} names unknown outlet {story.outlet!r}", path=str(path)
            )
    return newsroom


def article_path(story: Story) -> str:
    """Site path of an article page."""
    return f"/{story.outlet}/{story.published:%Y/%m}/{story.slug}.html"


def feed_path(outlet: Outlet) -> str:
    """Site path of an outlet's feed."""
    return f"/{outlet.id}/{'atom.xml' if outlet.feed == 'atom' else 'rss.xml'}"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _boilerplate(outlet: Outlet, others: Sequence[Story], padding: int) -> tuple[str, str, str]:
    nav_words = _NAV.get(outlet.lang, _NAV["en"])
    nav = "".join(
        f'<li><a href="/{outlet.id}/section/{i}">{_e(w)}</a></li>' for i, w in enumerate(nav_words)
    )
    related = "".join(f'<li><a href="{article_path(s)}">{_e(s.title)}</a></li>' for s in others[:6])
    script = (
        "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push("
        "arguments)}gtag('js',new Date());gtag('config','G-DEMO');</script>"
    )
    extra_nav, extra_blocks = [], []
    for block in range(padding):
        extra_nav.append(
            f'<div class="mega-menu" data-menu="{block}"><ul class="menu-{block}">'
            + "".join(
                f'<li class="menu-item"><a class="menu-link" '
                f'href="/{outlet.id}/section/{block}/{i}" data-track="nav-{i}">'
                f"<span>{_e(w)}</span></a></li>"
                for i, w in enumerate(nav_words)
            )
            + "</ul></div>"
        )
        cards = "".join(
            f'<div class="card card-{i}"><a class="thumb" href="/{outlet.id}/more/{block}/{i}">'
            f'<img src="/img/{block}-{i}.jpg" srcset="/img/{block}-{i}@2x.jpg 2x" alt="" '
            f'loading="lazy" width="300" height="200"></a><div class="meta">'
            f'<span class="kicker">{_e(nav_words[i % len(nav_words)])}</span>'
            f'<h3 class="headline"><a href="/{outlet.id}/more/{block}/{i}">{_e(s.title)}</a></h3>'
            f'<p class="dek">{_e(s.summary[:120])}</p><time>{s.published:%Y-%m-%d}</time>'
            f'<div class="share"><a href="#" class="fb">f</a><a href="#" class="x">x</a>'
            f'<a href="#" class="mail">@</a></div></div></div>'
            for i, s in enumerate(others[:8])
        )
        extra_blocks.append(
            f'<script>var slot{block}={{"id":"ad-{block}","sizes":[[300,250],[728,90]],'
            f'"targeting":{{"section":"news","pos":{block}}}}};'
            "(function(){var s=document.createElement('script');s.async=true;"
            f"s.src='/ads/{block}.js';document.head.appendChild(s);}})();</script>"
            f'<div class="ad-slot" id="ad-{block}" data-size="300x250"></div>'
            f'<section class="more-stories"><h3>{_e(_RELATED.get(outlet.lang, "Related"))}</h3>'
            f'<div class="grid">{cards}</div></section>'
        )
    header = (
        f'{script}<header><div class="logo">{_e(outlet.name)}</div><nav><ul>{nav}</ul>'
        f"{''.join(extra_nav)}</nav></header>"
    )
    aside = (
        f'<aside class="related"><h2>{_e(_RELATED.get(outlet.lang, "Related"))}</h2>'
        f"<ul>{related}</ul>{''.join(extra_blocks)}</aside>"
    )
    notice = _e(_FOOTER.get(outlet.lang, _FOOTER["en"]))
    footer = f"<footer><p>{notice}</p><p>© {_e(outlet.name)}</p></footer>"
    return header, aside, footer


def render_page(
    outlet: Outlet, story: Story, base_url: str, others: Sequence[Story], options: RenderOptions
) -> Route:
    """An article page."""
    url = base_url + article_path(story)
    header, aside, footer = _boilerplate(outlet, others, options.padding)
    charset_meta = f'<meta charset="{outlet.encoding}">'
    body = "".join(f"<p>{_e(p)}</p>" for p in story.paragraphs)
    when = story.published.astimezone(ZoneInfo(outlet.timezone))
    page = (
        f'<!DOCTYPE html><html lang="{outlet.lang}"><head>{charset_meta}'
        f"<title>{_e(story.title)} | {_e(outlet.name)}</title>"
        f'<link rel="canonical" href="{_e(url)}">'
        f'<meta property="og:url" content="{_e(url)}">'
        f'<meta property="og:title" content="{_e(story.title)}">'
        f'<meta property="og:site_name" content="{_e(outlet.name)}">'
        f'<meta name="author" content="{_e(story.author)}">'
        f'<meta property="article:published_time" content="{when.isoformat()}">'
        f'<meta name="description" content="{_e(story.summary)}">'
        f"</head><body>{header}<main><article><h1>{_e(story.title)}</h1>"
        f'<p class="byline">{_e(story.author)} · <time datetime="{when.isoformat()}">'
        f"{when:%Y-%m-%d %H:%M}</time></p>{body}</article>{aside}</main>{footer}</body></html>"
    )
    data = page.encode(outlet.encoding, errors="xmlcharrefreplace")
    ctype = "text/html"
    if outlet.encoding == "utf-8" or not options.meta_charset_only:
        ctype = f"text/html; charset={outlet.encoding}"
    return Route(data, content_type=ctype)


def _link(base_url: str, story: Story, options: RenderOptions) -> str:
    url = base_url + article_path(story)
    return url + "?utm_source=rss&utm_medium=feed" if options.tracking else url


def render_feed(
    outlet: Outlet, stories: Sequence[Story], base_url: str, options: RenderOptions
) -> Route:
    """The outlet's feed, newest first."""
    zone = ZoneInfo(outlet.timezone)
    items = sorted(stories, key=lambda s: s.published, reverse=True)
    home = f"{base_url}/{outlet.id}/"
    parts: list[str] = [f'<?xml version="1.0" encoding="{outlet.encoding}"?>']
    if outlet.feed == "rss2":
        parts.append(
            f'<rss version="2.0"><channel><title>{_e(outlet.name)}</title>'
            f"<link>{_e(home)}</link><language>{outlet.lang}</language>"
            f"<description>{_e(outlet.name)}</description>"
        )
        for s in items:
            parts.append(
                f"<item><title>{_e(s.title)}</title><link>{_e(_link(base_url, s, options))}</link>"
                f"<description>{_e(s.summary)}</description>"
                f"<pubDate>{format_datetime(s.published.astimezone(zone))}</pubDate>"
                f'<guid isPermaLink="false">{outlet.id}-{s.slug}</guid></item>'
            )
        parts.append("</channel></rss>")
    elif outlet.feed == "rss1":
        parts.append(
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f'<channel rdf:about="{_e(home)}"><title>{_e(outlet.name)}</title>'
            f"<link>{_e(home)}</link><description>{_e(outlet.name)}</description>"
            f"<dc:language>{outlet.lang}</dc:language></channel>"
        )
        for s in items:
            link = _e(_link(base_url, s, options))
            parts.append(
                f'<item rdf:about="{link}"><title>{_e(s.title)}</title><link>{link}</link>'
                f"<description>{_e(s.summary)}</description>"
                f"<dc:date>{s.published.astimezone(zone).isoformat()}</dc:date></item>"
            )
        parts.append("</rdf:RDF>")
    else:
        parts.append(
            f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{outlet.lang}">'
            f"<title>{_e(outlet.name)}</title><id>{_e(home)}</id>"
            f'<link rel="alternate" href="{_e(home)}"/>'
            f"<updated>{items[0].published.isoformat() if items else ''}</updated>"
        )
        for s in items:
            # Relative links: Atom readers must resolve them against the feed's URL.
            relative = article_path(s) + ("?utm_source=atom" if options.tracking else "")
            when = s.published.astimezone(zone).isoformat()
            parts.append(
                f'<entry><title>{_e(s.title)}</title><link rel="alternate" href="{_e(relative)}"/>'
                f"<id>tag:{outlet.id},{s.published:%Y}:{s.slug}</id>"
                f"<published>{when}</published><updated>{when}</updated>"
                f"<author><name>{_e(s.author or outlet.name)}</name></author>"
                f"<summary>{_e(s.summary)}</summary></entry>"
            )
        parts.append("</feed>")
    data = "".join(parts).encode(outlet.encoding, errors="xmlcharrefreplace")
    return Route(data, content_type=f"{_FEED_TYPES[outlet.feed]}; charset={outlet.encoding}")


def render_site(
    newsroom: Newsroom, base_url: str, options: RenderOptions | None = None
) -> dict[str, Route]:
    """All routes of the newsroom: feeds, pages and a permissive robots.txt."""
    opts = options or RenderOptions()
    routes: dict[str, Route] = {
        "/robots.txt": Route(b"User-agent: *\nDisallow: /admin/\n", content_type="text/plain"),
    }
    by_outlet: dict[str, list[Story]] = {o.id: [] for o in newsroom.outlets}
    for story in newsroom.articles:
        by_outlet[story.outlet].append(story)
    for outlet in newsroom.outlets:
        stories = by_outlet[outlet.id]
        routes[feed_path(outlet)] = render_feed(outlet, stories, base_url, opts)
        for index, story in enumerate(stories):
            others = stories[index + 1 :] + stories[:index]
            routes[article_path(story)] = render_page(outlet, story, base_url, others, opts)
    return routes


def sources_yaml(
    newsroom: Newsroom,
    base_url: str,
    *,
    allow_host: str,
    extra_settings: dict[str, Any] | None = None,
) -> str:
    """A sources file for the newsroom's feeds (the same format as ``seeds/sources.yaml``)."""
    settings: dict[str, Any] = {"allow_hosts": [allow_host], **(extra_settings or {})}
    sources = [
        {
            "name": f"demo-{o.id}",
            "url": base_url + feed_path(o),
            "lang": o.lang,
            "timezone": o.timezone,
            "tags": ["demo"],
        }
        for o in newsroom.outlets
    ]
    header = (
        "# Sources of the offline demo newsroom, served on loopback by `newswatch demo`.\n"
        "# Same format as seeds/sources.yaml (see seeds/README.md).\n"
    )
    return header + yaml.safe_dump(
        {"settings": settings, "sources": sources}, allow_unicode=True, sort_keys=False
    )
