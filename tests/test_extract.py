"""Extracting articles from golden pages: text, language, canonical URL, dates, refusals."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.errors import ExtractError, UnsupportedContentError
from pipeline.extract import extract_page, fingerprint
from pipeline.lang import detect_lang
from pipeline.records import Article, Page

PAGES = Path(__file__).resolve().parent / "data" / "pages"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
FETCHED = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
URL = "https://www.example.com/tech/chip-deal?utm_source=rss"


def page_of(
    name: str, content_type: str | None = "text/html", url: str = URL, final_url: str = URL
) -> Page:
    headers = (("Content-Type", content_type),) if content_type else ()
    return Page(url, final_url, 200, headers, (PAGES / name).read_bytes(), FETCHED)


def extract(
    name: str, content_type: str | None = "text/html", default_tz: tzinfo | None = None
) -> Article:
    return extract_page(
        page_of(name, content_type), source="golden", now=NOW, default_tz=default_tz
    )


# (file, Content-Type, language, text that must be in the article, boilerplate that must not)
ARTICLES = [
    ("lang_ko.html", "text/html", "ko", "시리즈 에이 투자를 유치했으며", "개인정보처리방침"),
    ("lang_zh.html", "text/html", "zh", "正式版本预计将于今年下半年上线", "未经许可不得转载"),
    ("lang_ja.html", "text/html", "ja", "海外展開も検討している", "会社概要"),
    ("lang_en.html", "text/html", "en", "biggest contract so far", "Privacy policy"),
    ("lang_de_latin.html", "text/html", "de", "neues Sprachmodell vorgestellt", "Privacy policy"),
    ("euckr_header.html", "text/html; charset=euc-kr", "ko", "똠방랩스가 한국어", "회사소개"),
    ("euckr_meta.html", "text/html", "ko", "똠방랩스가 한국어", "회사소개"),
    ("gbk_meta.html", "text/html", "zh", "喆智科技今天在北京", "联系我们"),
    ("gbk_undeclared.html", None, "zh", "喆智科技今天在北京", "联系我们"),
    ("big5_meta.html", "text/html", "zh", "呢個模型嘅粵語能力", "關於我們"),
    ("shift_jis_meta.html", "text/html", "ja", "①企業向けの有料版", "会社概要"),
    ("utf8_bom.html", "text/html", "ko", "똠방랩스가 한국어", "회사소개"),
    ("misdeclared_latin1_is_utf8.html", "text/html", "zh", "喆智科技今天在北京", "联系我们"),
    ("misdeclared_utf8_is_euckr.html", "text/html; charset=utf-8", "ko", "똠방랩스가", "회사소개"),
    ("cp1252_smart_quotes.html", "text/html", "en", "it \u201cwelcomed\u201d the", "About us"),
    ("xml_declaration.xhtml", "application/xhtml+xml", "en", "biggest contract", "Privacy policy"),
    ("lang_de_xml_lang.xhtml", "text/html", "de", "neues Sprachmodell", "Privacy policy"),
]


@pytest.mark.parametrize(("name", "content_type", "lang", "present", "absent"), ARTICLES)
def test_golden_articles(
    name: str, content_type: str | None, lang: str, present: str, absent: str
) -> None:
    article = extract(name, content_type)
    assert article.lang == lang
    assert present in article.text
    assert absent not in article.text
    assert "\ufffd" not in article.text
    assert article.title
    assert "\n" in article.text  # one paragraph per line
    assert article.fingerprint == fingerprint(article.text)


def test_records_pass_through() -> None:
    page = page_of("lang_en.html", url="https://feed.example.com/r/1", final_url=URL)
    article = extract_page(page, source="golden", now=NOW)
    assert (article.url, article.final_url, article.source) == (page.url, URL, "golden")
    assert article.fetched_at == FETCHED


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        # rel=canonical on the same site (www. ignored) is kept, normalized; it beats og:url.
        ("canonical_same_site.html", "https://example.com/tech/chip-deal"),
        # A page naming another site's URL does not get that identity.
        ("canonical_other_site.html", "https://www.example.com/tech/chip-deal"),
        # A relative og:url is resolved against the final URL, tracking dropped.
        ("og_url_relative.html", "https://www.example.com/tech/chip-deal"),
        # Some CMSs declare the home page as every article's canonical: ignored.
        ("canonical_home.html", "https://www.example.com/tech/chip-deal"),
        # Nothing declared: the normalized final URL.
        ("lang_en.html", "https://www.example.com/tech/chip-deal"),
    ],
)
def test_canonical_url(name: str, canonical: str) -> None:
    assert extract(name).canonical_url == canonical


def test_metadata_and_date_from_the_page() -> None:
    article = extract("canonical_same_site.html")
    # 09:30 in Seoul is 00:30 UTC.
    assert article.published_at == datetime(2025, 3, 4, 0, 30, tzinfo=UTC)
    assert article.author == "Jane Park"
    assert article.site_name == "Example Daily"
    assert article.description == "A chip supplier wins a cloud contract."


def test_json_ld_date_survives_the_readability_fallback() -> None:
    # A short brief is doubtful, so readability runs (and prunes the tree) on it.
    article = extract("jsonld_date_brief.html")
    assert "资金将主要用于模型训练" in article.text
    assert article.published_at == datetime(2025, 2, 10, 0, 0, tzinfo=UTC)
    assert article.lang == "zh"


def test_control_characters_do_not_break_extraction() -> None:
    article = extract("control_characters.html")
    assert "did not disclose the value" in article.text
    assert not any(ord(char) < 32 and char != "\n" for char in article.text + article.title)


def test_future_date_is_rejected() -> None:
    assert extract("future_date.html", default_tz=ZoneInfo("Asia/Seoul")).published_at is None


def test_other_site_does_not_name_the_site() -> None:
    assert extract("canonical_other_site.html").site_name != "victim-news.example.org"


def test_hostile_title_is_plain_text() -> None:
    article = extract("hostile_title.html")
    assert article.title.startswith("Chip deal")
    assert "<" not in article.title
    assert ">" not in article.title


def test_boilerplate_only_page_has_no_text() -> None:
    with pytest.raises(ExtractError, match="no text"):
        extract("boilerplate_only.html")


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("report.pdf", "application/pdf"),
        ("report.pdf", "text/html"),  # magic bytes win over a lying header
        ("report.pdf", None),
        ("lang_en.html", "image/png"),
        ("lang_en.html", "application/json"),
    ],
)
def test_non_html_is_refused(name: str, content_type: str | None) -> None:
    with pytest.raises(UnsupportedContentError) as caught:
        extract(name, content_type)
    assert caught.value.reason == "unsupported_content"
    assert caught.value.url == URL


@pytest.mark.parametrize("content_type", [None, "application/octet-stream", "text/plain"])
def test_html_without_an_html_content_type_is_sniffed(content_type: str | None) -> None:
    assert extract("lang_en.html", content_type).lang == "en"


def test_fingerprint_ignores_case_width_and_whitespace() -> None:
    assert fingerprint("Open  AI\nModel １２") == fingerprint("open ai model 12")
    assert fingerprint("open ai model") != fingerprint("open ai models")


def test_extract_page_runs_in_a_process_pool() -> None:
    # The collect pipeline extracts in worker processes: the function and its records pickle.
    page = page_of("lang_ko.html")
    assert pickle.loads(pickle.dumps(extract_page)) is extract_page
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        article = pool.submit(extract_page, page, source="golden", now=NOW).result(timeout=120)
    assert article == extract_page(page, source="golden", now=NOW)


@pytest.mark.parametrize(
    ("text", "html_lang", "hint", "lang"),
    [
        ("오픈소스 언어 모델을 공개했다. GPU 가격도 내렸다.", None, None, "ko"),
        ("新しいモデルを発表した。", None, None, "ja"),
        ("公司发布了新模型，价格下降。", None, None, "zh"),
        ("公司發布了新模型。", "zh-TW", None, "zh"),
        ("卡尔・马克思故居今天对公众开放，游客需要提前预约。", None, None, "zh"),
        ("The company released a new model.", None, None, "en"),
        ("The company released a new model.", "ko", None, "en"),  # a Korean site's English page
        ("Das Unternehmen stellte ein neues Modell vor.", "de-DE", None, "de"),
        ("Das Unternehmen stellte ein neues Modell vor.", None, "de", "de"),
        ("Компания представила новую модель.", None, None, "ru"),
        # Korean prose full of English product names is still Korean.
        ("OpenAI와 Anthropic, Google DeepMind가 새 모델을 발표했다", None, None, "ko"),
        ("東京株式市場", "ja", None, "ja"),  # all-kanji headline on a Japanese page
        ("12345 !!!", None, "ko", "ko"),
        ("", None, None, None),
    ],
)
def test_detect_lang(text: str, html_lang: str | None, hint: str | None, lang: str | None) -> None:
    assert detect_lang(text, html_lang, hint) == lang
