"""Extract an Article (main text and metadata) from a fetched Page.

The bytes are decoded here (``pipeline.decode``), never by trafilatura: handed raw bytes,
trafilatura 2.3.1 garbles about a quarter of GB2312/GBK pages. The text is parsed once and the
tree handed to ``trafilatura.bare_extraction`` (it copies it), so we do not pay for a second
parse.

Trafilatura runs in its fast, precision-favouring mode. Its default mode compares every page
with its own readability port and justext, which doubles its cost on ordinary news pages, and
its balanced focus re-measures the whole page whenever an article is under 3,000 characters
(every Korean or Chinese one). We run readability-lxml ourselves, only when trafilatura's output
looks doubtful (very short, a dump of layout tables, or nearly the whole page), and keep
readability's text when it found a real block. Measured with ``benchmarks/extraction.py`` on the
300-page extraction corpus: trafilatura default 0.896, readability-lxml 0.920, this combination
0.939 (readability runs on 72 of those pages); on generated 60 KB news pages it costs about
0.95x the CPU of plain ``trafilatura.extract``, and about 1.2x on the corpus pages.

``extract_page`` is a top-level function over records: the collect pipeline runs it in a process
pool. Nothing here keeps state between calls (no trafilatura ``deduplicate``: its cache is
process-global).
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from datetime import datetime, tzinfo

# lxml ships no type information and the project does not depend on lxml-stubs.
import lxml.html
import trafilatura
from lxml.etree import ParserError
from readability import Document as Readability
from trafilatura.settings import Document as TrafilaturaDocument

from pipeline.decode import decode_html
from pipeline.errors import ExtractError, UnsupportedContentError
from pipeline.lang import detect_lang
from pipeline.metadata import read_metadata
from pipeline.records import Article, Page

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
# Characters XML forbids: trafilatura strips them too, and stored text has no use for them.
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
# The same characters as numeric character references (&#1; &#x0B; &#65535; ...).
_REFERENCE = (
    r"&#(?:[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]|[fF]{3}[eEfF])"
    r"|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]|6553[45]));"
)
_CONTROL_REFERENCE = re.compile(_REFERENCE)
_CONTROL_REFERENCE_BYTES = re.compile(_REFERENCE.encode("ascii"))
_TAG = re.compile(r"<[^<>]*>")
_SPACES = re.compile(r"[^\S\n]+")
_WHITESPACE = re.compile(r"\s")

# When trafilatura's output is doubtful (thresholds swept on the extraction corpus):
_SHORT_TEXT = 200  # characters: a teaser or a caption rather than an article
_TABLE_CELLS = 5  # " | " separators: layout tables (old CJK portals) dumped whole
_PAGE_SHARE = 0.85  # of the page's visible text: the whole page, menus included
# Readability's text is kept unless it is a fragment of trafilatura's (it latched on a caption).
_MIN_ALTERNATIVE_SHARE = 0.2

# Below this much text there is no article (CJK characters count as three letters).
_MIN_TEXT = 90
_MIN_PARAGRAPH = 40
_MAX_FIELD = 500

_CJK = re.compile(
    r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)
_BLOCKS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote", "pre")


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
    html, codec = decode_html(page.body, content_type)
    tree = _parse(_xml_safe(html, page.body, codec))
    # Before extraction: readability prunes the tree (JSON-LD scripts, <time>) in place.
    meta = read_metadata(tree, page.final_url, now=now, default_tz=default_tz)
    found = trafilatura.bare_extraction(
        tree,
        url=page.final_url,
        fast=True,
        favor_precision=True,
        with_metadata=False,
        include_comments=False,
    )
    # None when trafilatura found nothing; a dict only with its deprecated as_dict=True.
    document = found if isinstance(found, TrafilaturaDocument) else TrafilaturaDocument()
    text = _clean_text(document.text or "")
    if _doubtful(text, tree):
        alternative = _clean_text(_readability_text(tree))
        chosen = _better_alternative(alternative, text)
        log.debug("readability fallback url=%s chosen=%s", page.final_url, chosen)
        if chosen:
            text = alternative
    if not _has_article_text(text):
        raise ExtractError("no text")
    return Article(
        url=page.url,
        final_url=page.final_url,
        canonical_url=meta.canonical_url,
        source=source,
        title=meta.title,
        text=text,
        lang=detect_lang(f"{meta.title}\n{text}", meta.lang, lang_hint),
        published_at=meta.published_at,
        fetched_at=page.fetched_at,
        fingerprint=fingerprint(text),
        author=meta.author,
        site_name=meta.site_name,
        description=meta.description,
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


def _xml_safe(html: str, body: bytes, codec: str) -> str:
    """The text without the characters XML forbids, raw or as character references."""
    # lxml parses them, but then refuses them in any text set on the tree: trafilatura and
    # readability would fail on such a page (a single &#11; pasted from a word processor is
    # enough). A scan of the text costs 5% of an extraction, so the bytes are checked first:
    # in every ASCII-compatible encoding (all but UTF-16/32) these are the same single bytes.
    ascii_compatible = not codec.startswith(("utf-16", "utf-32"))
    if (
        ascii_compatible
        and len(body.translate(None, _CONTROL_BYTES)) == len(body)
        and _CONTROL_REFERENCE_BYTES.search(body) is None
        and "\ufffe" not in html
        and "\uffff" not in html
    ):
        return html
    return _CONTROL_REFERENCE.sub("", _XML_INVALID.sub("", html))


def _parse(html: str) -> lxml.html.HtmlElement:
    try:
        return lxml.html.document_fromstring(
            _XML_DECLARATION.sub("", html, count=1), parser=_PARSER
        )
    except (ParserError, ValueError) as exc:
        raise ExtractError(f"unparseable HTML: {exc}") from exc


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
    return len(alternative) >= _MIN_ALTERNATIVE_SHARE * len(text) and _has_article_text(alternative)


def _readability_text(tree: lxml.html.HtmlElement) -> str:
    """Main text found by readability-lxml, one block per line ('' when it finds nothing)."""
    if tree.find("body") is None:
        return ""
    try:
        # Readability edits the tree it is given; ours is not needed any more.
        summary = Readability(tree).summary(html_partial=True)
    except Exception as exc:
        # A fallback heuristic failing means "no alternative": readability-lxml signals odd
        # trees with bare asserts as well as with its Unparseable.
        log.debug("readability found nothing: %r", exc)
        return ""
    try:
        # Control characters survive in the summary; lxml refuses them when we add newlines.
        fragment = lxml.html.fragment_fromstring(_XML_INVALID.sub("", summary), create_parent="div")
    except (ParserError, ValueError):
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
