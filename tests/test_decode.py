"""Decoding page bytes: declarations, browser supersets, distrust of wrong declarations."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pipeline.decode import codec_for, declared_in_header, declared_in_markup, decode_html

PAGES = Path(__file__).resolve().parent / "data" / "pages"

# (file, Content-Type header, codec expected, text that proves the decoding)
CASES = [
    # EUC-KR only in the header; 똠 exists in CP949 only, as browsers decode "EUC-KR".
    ("euckr_header.html", "text/html; charset=EUC-KR", "cp949", "똠방랩스"),
    ("euckr_meta.html", "text/html", "cp949", "똠방랩스"),
    # Declared GB2312, written with a GBK-only character (喆): decoded as GB18030.
    ("gbk_meta.html", "text/html", "gb18030", "喆智科技"),
    ("gbk_undeclared.html", None, "gb18030", "喆智科技"),
    # Declared Big5, with a Hong Kong supplementary character (嘅).
    ("big5_meta.html", "text/html", "big5hkscs", "呢個模型嘅粵語"),
    # Declared Shift_JIS, with a Windows-31J character (①).
    ("shift_jis_meta.html", "text/html", "cp932", "①企業向け"),
    # The byte-order mark wins over a wrong <meta> and over the header.
    ("utf8_bom.html", "text/html; charset=iso-8859-1", "utf-8", "똠방랩스"),
    # Declared ISO-8859-1, really UTF-8: valid non-ASCII UTF-8 is not an accident.
    ("misdeclared_latin1_is_utf8.html", "text/html", "utf-8", "喆智科技"),
    # Declared UTF-8 (header and meta), really EUC-KR: strict failure, detection decides.
    ("misdeclared_utf8_is_euckr.html", "text/html; charset=utf-8", "cp949", "똠방랩스"),
    # ISO-8859-1 means windows-1252: curly quotes live in 0x80-0x9F.
    ("cp1252_smart_quotes.html", "text/html", "cp1252", "\u201cwelcome\u201d the caf\u00e9"),
    ("xml_declaration.xhtml", "application/xhtml+xml", "utf-8", "Chipmaker signs"),
]


@pytest.mark.parametrize(("name", "content_type", "codec", "proof"), CASES)
def test_decode_golden_pages(name: str, content_type: str | None, codec: str, proof: str) -> None:
    text, used = decode_html((PAGES / name).read_bytes(), content_type)
    assert used == codec
    assert proof in text
    assert "\ufffd" not in text
    assert not text.startswith("\ufeff")


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("gb2312", "gb18030"),
        ("GBK", "gb18030"),
        ("x-gbk", "gb18030"),
        ("euc-kr", "cp949"),
        ("ks_c_5601-1987", "cp949"),
        ("Big5", "big5hkscs"),
        ("shift_jis", "cp932"),
        ("x-sjis", "cp932"),
        ("iso-8859-1", "cp1252"),
        ("latin1", "cp1252"),
        ("US-ASCII", "cp1252"),
        ("utf8", "utf-8"),
        ('"utf-8"', "utf-8"),
        ("iso-8859-2", "iso8859-2"),
        ("koi8-r", "koi8-r"),
        ("no-such-charset", None),
        ("", None),
    ],
)
def test_labels_map_to_browser_supersets(label: str, codec: str | None) -> None:
    assert codec_for(label) == codec


@pytest.mark.parametrize(
    ("header", "codec"),
    [
        ("text/html; charset=EUC-KR", "cp949"),
        ('text/html; charset="gb2312"', "gb18030"),
        ("text/html;charset=utf-8; foo=bar", "utf-8"),
        ("text/html; charset=UTF-16", "utf-16-le"),
        ("text/html; charset=utf-16be", "utf-16-be"),
        ("text/html", None),
        (None, None),
    ],
)
def test_header_charset(header: str | None, codec: str | None) -> None:
    assert declared_in_header(header) == codec


@pytest.mark.parametrize(
    ("head", "codec"),
    [
        (b'<meta charset="euc-kr">', "cp949"),
        (b"<META CHARSET=GB2312>", "gb18030"),
        (b'<meta http-equiv="Content-Type" content="text/html; charset=big5">', "big5hkscs"),
        (b'<meta content="text/html; charset=shift_jis" http-equiv="content-type">', "cp932"),
        (b'<?xml version="1.0" encoding="ISO-8859-1"?><html>', "cp1252"),
        (b'<meta name="description" content="charset talk">', None),
        (b" " * 5000 + b'<meta charset="euc-kr">', None),  # past the prescan window
    ],
)
def test_markup_charset(head: bytes, codec: str | None) -> None:
    assert declared_in_markup(head) == codec


def test_header_names_latin1_but_meta_names_cjk() -> None:
    # A server-wide ISO-8859-1 default must not turn a page's own EUC-KR into mojibake.
    body = (PAGES / "euckr_meta.html").read_bytes()
    text, codec = decode_html(body, "text/html; charset=ISO-8859-1")
    assert codec == "cp949"
    assert "똠방랩스" in text


@pytest.mark.parametrize("seed", range(20))
def test_arbitrary_bytes_never_raise(seed: int) -> None:
    body = random.Random(seed).randbytes(3000)
    text, codec = decode_html(b"<html><body>" + body, "text/html; charset=bogus")
    assert isinstance(text, str)
    assert codec_for(codec) == codec


def test_utf16_named_only_by_the_header() -> None:
    body = "<html><body><p>한국어 본문</p></body></html>".encode("utf-16-le")
    assert decode_html(body, "text/html; charset=utf-16") == (body.decode("utf-16-le"), "utf-16-le")


def test_ascii_page_without_declaration_is_utf8() -> None:
    assert decode_html(b"<html><body>hello</body></html>", None) == (
        "<html><body>hello</body></html>",
        "utf-8",
    )


@pytest.mark.parametrize(
    "body",
    [
        b"<html>\xe9" + b"<script" * 300_000,
        b"<html>\xe9" + b"<" * 2_000_000,
        b"<html>\xe9" + b"<style>" * 300_000,
    ],
    ids=["unclosed-script-openings", "bare-angle-brackets", "unclosed-styles"],
)
def test_hostile_markup_decodes_in_bounded_time(body: bytes) -> None:
    # Before the linear scan these took minutes (quadratic backtracking); now milliseconds.
    import time

    start = time.perf_counter()
    text, _ = decode_html(body, "text/html")
    assert time.perf_counter() - start < 5.0
    assert text.startswith("<html>")
