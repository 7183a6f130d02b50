"""Turn page bytes into text the way a browser would, before any parser sees them.

Order (WHATWG "determine the character encoding", simplified): byte-order mark, the charset of
the HTTP ``Content-Type`` header, a ``<meta>`` declaration in the first few KB, then detection
restricted to the encodings our sources use, then UTF-8 with replacement characters.

Declared labels are mapped to the superset a browser really decodes with (GB2312 pages are
decoded as GB18030, EUC-KR as CP949, ISO-8859-1 as windows-1252 ...): servers routinely declare
the small charset and send characters only the superset has.

A declaration is evidence, not truth. It is dropped when decoding with it fails on many bytes,
and when it names a legacy charset but the bytes are valid, non-ASCII UTF-8 (a CMS migrated to
UTF-8 and kept its old template). Measured on the extraction corpus: trafilatura 2.3.1 handed
raw bytes ignores the declared charset and garbles about a quarter of GB2312/GBK pages, which
is why extraction receives the ``str`` this module returns.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

# WHATWG encoding labels -> the Python codec that decodes what browsers decode.
_SUPERSETS: dict[str, str] = {
    # Chinese (simplified): GB2312 and GBK are subsets of GB18030.
    "gb2312": "gb18030",
    "gb_2312": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "iso-ir-58": "gb18030",
    "chinese": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "euc-cn": "gb18030",
    "gb18030": "gb18030",
    # Korean: EUC-KR as served is Microsoft's unified Hangul code (CP949).
    "euc-kr": "cp949",
    "euckr": "cp949",
    "cseuckr": "cp949",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601-1989": "cp949",
    "ksc5601": "cp949",
    "ksc_5601": "cp949",
    "csksc56011987": "cp949",
    "iso-ir-149": "cp949",
    "korean": "cp949",
    "windows-949": "cp949",
    "cp949": "cp949",
    "uhc": "cp949",
    # Chinese (traditional): Big5 with the Hong Kong extensions.
    "big5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "cn-big5": "big5hkscs",
    "csbig5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "cp950": "big5hkscs",
    # Japanese: Shift_JIS as served is Windows-31J (CP932).
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "csshiftjis": "cp932",
    "windows-31j": "cp932",
    "ms932": "cp932",
    "cp932": "cp932",
    "euc-jp": "euc_jp",
    "x-euc-jp": "euc_jp",
    "cseucpkdfmtjapanese": "euc_jp",
    "iso-2022-jp": "iso2022_jp",
    "csiso2022jp": "iso2022_jp",
    # Western: ISO-8859-1 and ASCII labels mean windows-1252 in every browser.
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "iso-8859-1:1987": "cp1252",
    "iso88591": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "cp819": "cp1252",
    "ibm819": "cp1252",
    "csisolatin1": "cp1252",
    "iso-ir-100": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "windows-1252": "cp1252",
    "x-cp1252": "cp1252",
    "cp1252": "cp1252",
    "iso-8859-9": "cp1254",
    "latin5": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "windows-874": "cp874",
    # A <meta> cannot truthfully declare UTF-16 (the parser already read it as ASCII).
    "utf-16": "utf-8",
    "utf-16le": "utf-8",
    "utf-16be": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-8": "utf-8",
}

# Candidates for detection when nothing trustworthy is declared: the languages we collect
# (ko, en, zh, ja) plus the Western and Central European pages news aggregators link to.
_DETECT_CANDIDATES = [
    "utf_8",
    "gb18030",
    "cp949",
    "big5hkscs",
    "cp932",
    "euc_jp",
    "cp1252",
    "cp1250",
    "cp1251",
]

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Python codec-name prefixes of single-byte charsets (every byte decodes to something).
_SINGLE_BYTE = ("cp125", "cp874", "iso8859", "latin", "koi8", "mac-", "tis")

_PRESCAN_BYTES = 4096
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
# <meta charset=x> and <meta http-equiv="Content-Type" content="text/html; charset=x">.
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE | re.DOTALL
)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)""", re.IGNORECASE)
# Markup is ASCII and dilutes what detection sees; keep only what is between tags.
# Linear-time patterns only: this runs on hostile pages before anything is bounded. A tag
# scan stops at the next "<"; a script's end is found with bytes.find, never by backtracking
# (the earlier lazy ".*?</\1>" took 130 s on 480 KB of repeated "<script").
_RAW_OPEN = re.compile(rb"<(script|style)\b[^<>]{0,2000}>", re.IGNORECASE)
_TAG = re.compile(rb"<[^<>]{0,2000}>")
# Enough of a page to find 64 KiB of text between the tags.
_DETECT_SCAN = 1024 * 1024
_DETECT_SAMPLE = 64 * 1024

# A declared charset survives a few bad bytes (a truncated character, one pasted symbol);
# beyond this share of replaced characters the declaration is not believed.
_MAX_BAD_SHARE = 0.002
_MAX_BAD_FLOOR = 8


def codec_for(label: str | None) -> str | None:
    """Python codec for a charset label as browsers interpret it, or None if unknown."""
    if not label:
        return None
    key = label.strip().strip("\"'").lower()
    if key in _SUPERSETS:
        return _SUPERSETS[key]
    try:
        name = codecs.lookup(key).name
    except LookupError:
        return None
    # Python spells a few of them differently from the table (latin-1 -> iso8859-1 ...).
    return _SUPERSETS.get(name, name)


def _bom(body: bytes) -> tuple[str, int] | None:
    for mark, codec in _BOMS:
        if body.startswith(mark):
            return codec, len(mark)
    return None


def declared_in_header(content_type: str | None) -> str | None:
    """Codec named by an HTTP Content-Type header's charset parameter."""
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    if not match:
        return None
    label = match.group(1).lower()
    if label.startswith("utf-16"):
        # Unlike a <meta>, the header can truly say UTF-16 (WHATWG: plain "utf-16" is LE).
        return "utf-16-be" if label == "utf-16be" else "utf-16-le"
    return codec_for(label)


def declared_in_markup(body: bytes) -> str | None:
    """Codec named by a ``<meta>`` (or XML) declaration near the start of the document."""
    head = body[:_PRESCAN_BYTES]
    for match in _META_CHARSET.finditer(head):
        codec = codec_for(match.group(1).decode("ascii", "replace"))
        if codec:
            return codec
    xml = _XML_ENCODING.match(head)
    if xml:
        return codec_for(xml.group(1).decode("ascii", "replace"))
    return None


def _valid_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode_leniently(body: bytes, codec: str) -> tuple[str, int]:
    """Decode with replacement; return the text and how many characters were replaced."""
    try:
        return body.decode(codec), 0
    except UnicodeDecodeError:
        pass
    text = body.decode(codec, errors="replace")
    # U+FFFD may legitimately occur in the page; count only what decoding added.
    return text, max(0, text.count("\ufffd") - body.count("\ufffd".encode()))


def _believable(body: bytes, codec: str) -> str | None:
    """The decoded text if ``codec`` fits the bytes well enough to be believed."""
    if codec != "utf-8" and not body.isascii() and _valid_utf8(body):
        # Legacy multi-byte text is almost never valid UTF-8 by accident; a page that is
        # valid UTF-8 with non-ASCII bytes kept an old declaration after a migration.
        return None
    text, bad = _decode_leniently(body, codec)
    if bad > max(_MAX_BAD_FLOOR, _MAX_BAD_SHARE * len(text)):
        return None
    return text


def _between_tags(body: bytes) -> bytes:
    """The page's bytes outside tags, scripts and styles (linear time)."""
    lowered = body.lower()
    parts: list[bytes] = []
    position = 0
    while position < len(body):
        opening = _RAW_OPEN.search(body, position)
        if opening is None:
            parts.append(body[position:])
            break
        parts.append(body[position : opening.start()])
        closing = lowered.find(b"</" + opening.group(1).lower(), opening.end())
        end = body.find(b">", closing) if closing >= 0 else -1
        position = len(body) if end < 0 else end + 1
    return _TAG.sub(b" ", b" ".join(parts))


def detect_codec(body: bytes) -> str | None:
    """Best guess among the encodings our sources use, from the text between the tags."""
    if body.isascii():
        return "utf-8"
    if _valid_utf8(body):
        return "utf-8"
    sample = _between_tags(body[:_DETECT_SCAN])[:_DETECT_SAMPLE]
    if sample.isascii():
        sample = body[:_DETECT_SAMPLE]
    best = from_bytes(sample, cp_isolation=_DETECT_CANDIDATES, preemptive_behaviour=False).best()
    if best is None:
        return None
    return codec_for(best.encoding)


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Decode HTML bytes; return the text and the codec used (see the module docstring)."""
    bom = _bom(body)
    if bom:
        codec, skip = bom
        return body[skip:].decode(codec, errors="replace"), codec
    for declared in _declarations(declared_in_header(content_type), declared_in_markup(body)):
        text = _believable(body, declared)
        if text is not None:
            return text, declared
    detected = detect_codec(body)
    if detected:
        text, bad = _decode_leniently(body, detected)
        if bad <= max(_MAX_BAD_FLOOR, _MAX_BAD_SHARE * len(text)):
            return text, detected
    return body.decode("utf-8", errors="replace"), "utf-8"


def _declarations(header: str | None, markup: str | None) -> list[str]:
    """Declared codecs in the order to try them."""
    # Browsers let the header win. But a server-wide default of ISO-8859-1 in front of a
    # page whose own <meta> names a CJK charset is a server misconfiguration, not a choice,
    # and single-byte decoding never fails loudly enough for _believable to notice.
    if (
        header
        and header.startswith(_SINGLE_BYTE)
        and markup
        and not markup.startswith(_SINGLE_BYTE)
    ):
        header, markup = markup, header
    return [codec for codec in dict.fromkeys((header, markup)) if codec]
