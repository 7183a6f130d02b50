"""Extract an Article (main text and metadata) from a fetched Page.

The bytes are decoded here (``pipeline.decode``), never by trafilatura: handed raw bytes,
trafilatura 2.3.1 garbles about a quarter of GB2312/GBK pages. The text is parsed once and the
tree handed to ``trafilatura.bare_extraction`` (it copies it), so we do not pay for a second
parse.

Trafilatura runs in its fast mode: its slow mode compares every page with its own readability
port and justext, which doubles its cost on ordinary news pages. We run readability-lxml
ourselves, only when trafilatura's output looks doubtful (missing, very short, a dump of layout
tables, or nearly the whole page), and keep readability's text when it found a real block.
Measured on the 300-page extraction corpus (``benchmarks/extraction.py``): trafilatura default
0.90, readability-lxml 0.92, this combination 0.94, at about the CPU cost of plain
``trafilatura.extract`` on a typical news page.

``extract_page`` is a top-level function over records: the collect pipeline runs it in a process
pool. Nothing here keeps state between calls (no trafilatura ``deduplicate``: its cache is
process-global).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import urljoin

# lxml ships no type information and the project does not depend on lxml-stubs.
import lxml.html  # type: ignore[import-untyped]
import trafilatura
from lxml.etree import ParserError  # type: ignore[import-untyped]
from readability import Document as Readability
from readability.readability import Unparseable

from pipeline.dates import parse_date
from pipeline.decode import decode_html
from pipeline.errors import ExtractError, UnsupportedContentError
from pipeline.lang import detect_lang
from pipeline.records import Article, Page
from pipeline.urls import normalize, same_site

log = logging.getLogger(__name__)

# Same options as trafilatura's own parser, so handing it our tree changes nothing for it.
_PARSER = lxml.html.HTMLParser(
    collect_ids=False, default_doctype=False, remove_comments=True, remove_pis=True
)

# Media types we extract from; others are refused unless the body sniffs as HTML.
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_SNIFFED_TYPES = frozenset(
    {"", "text/plain", "application/octet-stream", "application/xml", "text/xml"}
)
_BINARY_MAGIC = (
    (b"%PDF", "pdf"),
    (b"\x89PNG", "png"),
    (b"GIF8", "gif"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"PK\x03\x04", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"%!PS", "postscript"),
    (b"{\\rtf", "rtf"),
    (b"OggS", "ogg"),
    (b"ID3", "mp3"),
    (b"\xd0\xcf\x11\xe0", "ms-office"),
)
_HTML_START = re.compile(
    rb"^\s*(?:<!doctype\s+html|<html|<head|<body|<meta|<title|<!--|<\?xml[^>]*>\s*(?:<!doctype|<html))",
    re.IGNORECASE,
)

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# lxml refuses control characters in str input (the ones XML forbids).
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TAG = re.compile(r"<[^<>]*>")
_SPACES = re.compile(r"[^\S\n]+")
_WHITESPACE = re.compile(r"\s")

# When trafilatura's output is doubtful (thresholds swept on the extraction corpus):
_SHORT_TEXT = 200  # characters: a teaser or a caption rather than an article
_TABLE_CELLS = 5  # " | " separators: layout tables (old CJK portals) dumped whole
_PAGE_SHARE = 0.85  # of the page's visible text: the whole page, menus included
# Readability's text is kept unless it is a fragment of trafilatura's (it latched on a caption).
_MIN_ALTERNATIVE_SHARE = 0.2
_MIN_ALTERNATIVE = 100

# Below this much text there is no article (CJK characters count as three letters).
_MIN_TEXT = 90
_MIN_PARAGRAPH = 40
_MAX_FIELD = 500

_CJK = re.compile(
    r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)
_BLOCKS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote", "pre")

# Page-level publication dates, most specific first; values go through parse_date.
_DATE_META = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "publishdate",
    "publish-date",
    "pubdate",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.created",
    "dc.date",
    "date",
)
_JSON_LD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{6,60})"')


def extract_page(
    page: Page,
    *,
    source: str,
    lang_hint: str | None = None,
    default_tz: tzinfo | None = None,
    now: datetime,
) -> Article:
    """Extract the main text and metadata of an HTML page into an Article."""
    content_type = page.header("content-type")
    _refuse_non_html(page, content_type)
    html, _codec = decode_html(page.body, content_type)
    tree = _parse(html)
    head = _head_fields(tree)

    document = trafilatura.bare_extraction(
        tree,
        url=page.final_url,
        fast=True,
        favor_precision=True,
        with_metadata=True,
        include_comments=False,
        # htmldate's default bound is the wall clock; time is a parameter here.
        date_extraction_params={
            "original_date": True,
            "extensive_search": False,
            "max_date": now.strftime("%Y-%m-%d"),
        },
    )
    text = _clean_text(getattr(document, "text", None) or "")
    if _doubtful(text, tree):
        alternative = _clean_text(_readability_text(tree))
        if _better_alternative(alternative, text):
            text = alternative
    if not _has_article_text(text):
        raise ExtractError("no text")

    title = _clean_field(getattr(document, "title", None)) or head.get("title") or ""
    return Article(
        url=page.url,
        final_url=page.final_url,
        canonical_url=_canonical(page.final_url, head),
        source=source,
        title=title,
        text=text,
        lang=detect_lang(f"{title}\n{text}", head.get("lang"), lang_hint),
        published_at=_published_at(tree, head, getattr(document, "date", None), now, default_tz),
        fetched_at=page.fetched_at,
        fingerprint=fingerprint(text),
        author=_clean_field(getattr(document, "author", None)),
        site_name=_clean_field(getattr(document, "sitename", None)),
        description=_clean_field(getattr(document, "description", None)),
    )


def fingerprint(text: str) -> str:
    """sha256 hex of the text after NFKC, casefolding and removal of all whitespace."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return hashlib.sha256("".join(folded.split()).encode("utf-8")).hexdigest()


def _refuse_non_html(page: Page, content_type: str | None) -> None:
    head = page.body[:1024].lstrip()
    for magic, kind in _BINARY_MAGIC:
        if head.startswith(magic):
            raise UnsupportedContentError(
                f"not HTML: {kind} content", url=page.final_url, status=page.status
            )
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in _HTML_TYPES:
        return
    sniffable = media in _SNIFFED_TYPES
    if sniffable and b"\x00" not in head and _HTML_START.match(page.body[:1024]):
        return
    raise UnsupportedContentError(
        f"not HTML: {media or 'unknown content type'}", url=page.final_url, status=page.status
    )


def _parse(html: str) -> lxml.html.HtmlElement:
    # Control characters are left in: libxml2's HTML parser copes, and _clean_text drops them
    # from what we keep (scanning the whole page for them costs more than the parse itself).
    try:
        return lxml.html.document_fromstring(
            _XML_DECLARATION.sub("", html, count=1), parser=_PARSER
        )
    except (ParserError, ValueError) as exc:
        raise ExtractError(f"unparseable HTML: {exc}") from exc


def _head_fields(tree: lxml.html.HtmlElement) -> dict[str, str]:
    """Language, canonical links, title and date candidates declared in the markup."""
    fields: dict[str, str] = {}
    lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    if lang:
        fields["lang"] = lang
    for link in tree.iterfind(".//link[@rel][@href]"):
        if "canonical" in link.get("rel", "").lower().split():
            fields.setdefault("canonical", link.get("href", ""))
    for meta in tree.iterfind(".//meta[@content]"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key:
            fields.setdefault(f"meta:{key.strip()}", meta.get("content", ""))
        elif (meta.get("http-equiv") or "").lower() == "content-language":
            fields.setdefault("lang", meta.get("content", ""))
    title = tree.find(".//title")
    if title is not None and title.text:
        cleaned = _clean_field(title.text)
        if cleaned:
            fields["title"] = cleaned
    return fields


def _canonical(final_url: str, head: dict[str, str]) -> str:
    # A page may only speak for its own site: a hostile page claiming another site's URL
    # would otherwise take that article's identity in dedupe.
    for raw in (head.get("canonical"), head.get("meta:og:url")):
        if raw:
            candidate = normalize(urljoin(final_url, raw.strip()))
            if candidate and same_site(candidate, final_url):
                return candidate
    return normalize(final_url) or final_url


def _published_at(
    tree: lxml.html.HtmlElement,
    head: dict[str, str],
    trafilatura_date: str | None,
    now: datetime,
    default_tz: tzinfo | None,
) -> datetime | None:
    # Meta and JSON-LD dates carry a time and an offset; htmldate keeps only the day.
    candidates = [head.get(f"meta:{key}") for key in _DATE_META]
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        match = _JSON_LD_DATE.search(script.text or "")
        if match:
            candidates.append(_json_string(match.group(1)))
    for node in tree.iterfind(".//time[@datetime]"):
        candidates.append(node.get("datetime"))
        break
    candidates.append(trafilatura_date)
    for raw in candidates:
        parsed = parse_date(raw.strip(), now=now, default_tz=default_tz) if raw else None
        if parsed is not None:
            return parsed
    return None


def _json_string(raw: str) -> str:
    try:
        value: Any = json.loads(f'"{raw}"')
    except ValueError:
        return raw
    return value if isinstance(value, str) else raw


def _visible_length(tree: lxml.html.HtmlElement) -> int:
    """Length of the page's text outside scripts and styles, whitespace collapsed."""
    body = tree.find("body")
    if body is None:
        return 0
    # XPath does the string work in C: this runs on every page.
    total = int(body.xpath("string-length(normalize-space(.))"))
    hidden = sum(
        int(node.xpath("string-length(normalize-space(.))"))
        for node in body.iter("script", "style", "noscript", "template")
    )
    return max(0, total - hidden)


def _doubtful(text: str, tree: lxml.html.HtmlElement) -> bool:
    if len(text) < _SHORT_TEXT or text.count(" | ") >= _TABLE_CELLS:
        return True
    return len(" ".join(text.split())) >= _PAGE_SHARE * _visible_length(tree)


def _better_alternative(alternative: str, text: str) -> bool:
    return (
        len(alternative) >= _MIN_ALTERNATIVE
        and len(alternative) >= _MIN_ALTERNATIVE_SHARE * len(text)
        and _has_article_text(alternative)
    )


def _readability_text(tree: lxml.html.HtmlElement) -> str:
    """Main text found by readability-lxml, one block per line ('' when it finds nothing)."""
    try:
        # Readability edits the tree it is given; ours is not needed any more.
        summary = Readability(tree).summary(html_partial=True)
        fragment = lxml.html.fragment_fromstring(summary, create_parent="div")
    except (Unparseable, ParserError, ValueError) as exc:
        log.debug("readability found nothing: %s", exc)
        return ""
    for node in fragment.iter(*_BLOCKS):
        node.tail = f"\n{node.tail or ''}"
        if node.tag != "br":
            node.text = f"\n{node.text or ''}"
    return str(fragment.text_content())


def _clean_text(text: str) -> str:
    lines = (line.strip() for line in _SPACES.sub(" ", _XML_INVALID.sub("", text)).split("\n"))
    return "\n".join(line for line in lines if line)


def _weight(text: str) -> int:
    """Length without whitespace, a CJK character counting as three letters."""
    dense = len(text) - len(_WHITESPACE.findall(text))
    return dense if text.isascii() else dense + 2 * len(_CJK.findall(text))


def _has_article_text(text: str) -> bool:
    # Menus and footers are many short lines; an article has at least one real paragraph.
    if _weight(text) < _MIN_TEXT:
        return False
    return any(
        len(line) >= _MIN_PARAGRAPH
        or (len(line) * 3 >= _MIN_PARAGRAPH and _weight(line) >= _MIN_PARAGRAPH)
        for line in text.split("\n")
    )


def _clean_field(value: str | None) -> str | None:
    """Plain one-line text for a metadata field: tags dropped, whitespace collapsed, bounded."""
    if not value:
        return None
    text = " ".join(_TAG.sub(" ", _XML_INVALID.sub("", value)).split())
    return text[:_MAX_FIELD] or None
