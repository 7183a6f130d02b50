"""Tests for pipeline.feeds (parse_feed over golden files) and pipeline.poll (end to end).

The golden files live in ``tests/data/feeds`` (see the README there); the expected entries are
written out below, next to the assertions. Polling tests serve the same files from a loopback
site and go through the real fetcher.
"""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flows.loopback import LoopbackSite, Route
from pipeline.errors import FeedError
from pipeline.feeds import ParsedFeed, parse_feed, plain_text, primary_language, source_zone
from pipeline.fetch import Fetcher
from pipeline.fetch_settings import FetchSettings
from pipeline.poll import poll_source, poll_sources
from pipeline.records import Page, PollStatus, Source, Stage, Validators

FEEDS = Path(__file__).resolve().parent / "data" / "feeds"
NOW = datetime(2025, 3, 27, 12, 0, tzinfo=UTC)
FEED_URL = "https://feeds.example/rss/all.xml"
RSS = "application/rss+xml"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


def page_of(name: str, content_type: str | None = RSS, url: str = FEED_URL) -> Page:
    """A fetched page holding golden file ``name``, as the fetcher would return it."""
    headers = (("Content-Type", content_type),) if content_type else ()
    return Page(url, url, 200, headers, (FEEDS / name).read_bytes(), NOW)


def parse(name: str, content_type: str | None = RSS, **source: Any) -> ParsedFeed:
    return parse_feed(page_of(name, content_type), Source("test", FEED_URL, **source), now=NOW)


def feed_error(name: str, content_type: str | None = RSS) -> FeedError:
    with pytest.raises(FeedError) as info:
        parse(name, content_type)
    return info.value


@dataclass(frozen=True)
class Golden:
    """What one golden file must parse into."""

    file: str
    content_type: str | None
    entries: list[tuple[str, str, datetime | None]]  # (url, title, published_at)
    source: tuple[tuple[str, Any], ...] = ()
    lang: str | None = None
    title: str = ""
    skipped: int = 0
    warns: bool = False


GOLDEN = [
    Golden(
        "rss20.xml",
        RSS,
        [
            (
                "https://techdesk.example/2025/03/26/price-cut",
                "Cloud provider cuts model prices by half",
                utc(2025, 3, 26, 9, 30),
            ),
            (
                "https://techdesk.example/2025/03/26/seoul-chips",
                "Seoul start-up raises ₩50 billion for inference chips",
                utc(2025, 3, 26, 9),
            ),
            # A relative link is resolved against the URL the feed was fetched from.
            (
                "https://feeds.example/2025/03/25/leaderboard",
                "Open-weight reasoning model tops a public leaderboard",
                utc(2025, 3, 26, 2, 15),
            ),
            (
                "https://techdesk.example/2025/03/25/guid-only",
                "Guid as the only link",
                utc(2025, 3, 25, 7),
            ),
        ],
        lang="en",
        title="Example Tech Desk & Friends",
    ),
    Golden(
        "rss10.rdf",
        "application/rdf+xml",
        [
            ("https://keji.example/news/101.html", "某云厂商宣布大模型降价", utc(2025, 3, 26, 2)),
            # Zone-less: China time, from the feed's language.
            ("https://keji.example/news/102.html", "新推理模型发布", utc(2025, 3, 26, 7, 30)),
        ],
        lang="zh",
        title="示例科技",
    ),
    Golden(
        "atom-xml-base.xml",
        "application/atom+xml",
        [
            (
                "https://blog.example/ai/posts/agents-launch",
                "Relative to the feed's base",
                utc(2025, 3, 26, 2),
            ),
            (
                "https://blog.example/archive/2025/march/pricing.html",
                "Relative to the entry's own base",
                utc(2025, 3, 25, 8),
            ),  # published, not updated
            ("https://blog.example/investment/round", "Root-relative link", utc(2025, 3, 24)),
        ],
        lang="en",
        title="Example AI Blog",
    ),
    Golden(
        "rss091.xml",
        "text/xml",
        [
            ("http://weekly.example/issue/41.html", "Café chats about chips", None),
            ("http://weekly.example/issue/42.html", "Fund managers and AI", None),
        ],
        lang="en",
        title="Example Weekly",
    ),
    Golden(
        "euc-kr-header-only.xml",
        "application/rss+xml; charset=EUC-KR",
        [
            (
                "https://gyeongje.example/article/2025032611",
                "국내 기업, 중국산 저가 AI 모델 도입 검토",
                utc(2025, 3, 26, 1),
            ),
            (
                "https://gyeongje.example/article/2025032612",
                "반도체 투자 확대 발표",
                utc(2025, 3, 26, 5, 30),
            ),  # zone-less: Korean time, from the feed's language
        ],
        lang="ko",
        title="예시 경제신문 IT",
    ),
    Golden(
        "euc-kr-declaration.xml",
        "text/xml",
        [
            (
                "https://jeonja.example/news/77",
                "클라우드 요금 인하 경쟁 본격화",
                utc(2025, 3, 25, 23, 15),
            )
        ],
        source=(("lang", "ko"),),
        lang="ko",
        title="예시 전자신문",
        warns=True,
    ),
    Golden(
        "euc-kr-declaration.xml",
        "application/rss+xml; charset=utf-8",  # the header is wrong
        [
            (
                "https://jeonja.example/news/77",
                "클라우드 요금 인하 경쟁 본격화",
                utc(2025, 3, 25, 23, 15),
            )
        ],
        source=(("lang", "ko"),),
        lang="ko",
        title="예시 전자신문",
        warns=True,
    ),
    Golden(
        "cp949-labelled-euc-kr.xml",
        "application/rss+xml; charset=euc-kr",
        [
            ("https://jiyeok.example/news/1", "똠방각하 인공지능 행사 후기", utc(2025, 3, 26)),
            ("https://jiyeok.example/news/2", "지역 데이터센터 착공", utc(2025, 3, 26, 2)),
        ],
        title="예시 지역신문",
        warns=True,
    ),
    Golden(
        "broken-items.xml",
        RSS,
        [
            ("https://markets.example/a/1", "Chip stocks fall & recover", utc(2025, 3, 26, 13)),
            (
                "https://markets.example/a/2",
                "Investors weigh AI spending plans",
                utc(2025, 3, 26, 14),
            ),
        ],
        title="Example Markets & Tech",
        skipped=1,
        warns=True,
    ),
    Golden(
        "duplicates.xml",
        RSS,
        [
            ("https://echo.example/story/7", "The story", None),
            ("https://echo.example/story/8", "Another story", None),
        ],
        title="Example Echo Desk",
    ),
    Golden(
        "dates-zh.xml",
        RSS,
        [
            ("https://kuaixun.example/n/1", "带 CST 的时间", utc(2025, 3, 26, 10)),  # +08:00
            ("https://kuaixun.example/n/2", "没有时区的时间", utc(2025, 3, 26, 1, 30)),
            ("https://kuaixun.example/n/3", "带偏移的时间", utc(2025, 3, 26, 4)),
            ("https://kuaixun.example/n/4", "中文日期", utc(2025, 3, 25, 23, 5)),
            ("https://kuaixun.example/n/5", "UTC 时间", utc(2025, 3, 26, 1)),
        ],
        source=(("lang", "zh"), ("timezone", "Asia/Shanghai")),
        lang="zh",
        title="示例快讯",
    ),
    Golden(
        "dates-ko.xml",
        RSS,
        [
            ("https://tongsin.example/k/1", "KST 표기", utc(2025, 3, 26)),
            ("https://tongsin.example/k/2", "오프셋 표기", utc(2025, 3, 26)),
            ("https://tongsin.example/k/3", "시간대 없음", utc(2025, 3, 26)),
            ("https://tongsin.example/k/4", "한국어 날짜", utc(2025, 3, 26, 6, 20)),
            ("https://tongsin.example/k/5", "미래 날짜", None),  # 2100: a feed bug, not a date
            ("https://tongsin.example/k/6", "날짜 아님", None),
        ],
        source=(("timezone", "Asia/Seoul"),),
        title="예시 통신",
    ),
]


@pytest.mark.parametrize("golden", GOLDEN, ids=[f"{g.file}|{g.content_type}" for g in GOLDEN])
def test_golden_feeds(golden: Golden) -> None:
    parsed = parse(golden.file, golden.content_type, **dict(golden.source))
    assert [(e.url, e.title, e.published_at) for e in parsed.entries] == golden.entries
    assert parsed.title == golden.title
    assert parsed.skipped == golden.skipped
    assert bool(parsed.warnings) == (golden.warns or golden.skipped > 0)
    for entry in parsed.entries:
        assert entry.source == "test"
        assert entry.lang == golden.lang
        assert entry.published_at is None or entry.published_at.utcoffset() is not None
        assert entry.published_at is None or entry.published_at.tzinfo == UTC


def test_entry_keeps_the_announced_link_and_a_plain_summary() -> None:
    first = parse("rss20.xml").entries[0]
    assert first.link == (
        "https://techdesk.example/2025/03/26/price-cut?utm_source=rss&utm_medium=feed"
    )
    assert first.summary == "The provider said input tokens now cost half as much."
    atom = parse("atom-xml-base.xml", "application/atom+xml").entries[1]
    assert atom.summary == "Pricing & plans changed."


def test_entries_carry_the_robots_choice_of_their_source() -> None:
    assert {e.robots for e in parse("rss20.xml").entries} == {True}
    assert {e.robots for e in parse("rss20.xml", robots=False).entries} == {False}


def test_broken_xml_keeps_good_entries_with_a_warning() -> None:
    parsed = parse("broken-items.xml")
    assert len(parsed.entries) == 2
    assert any(w.startswith("malformed feed") for w in parsed.warnings)


@pytest.mark.parametrize(
    ("name", "content_type", "words"),
    [
        ("not-a-feed.html", "text/html; charset=utf-8", "HTML"),
        ("not-a-feed.html", RSS, "HTML"),  # the header lies; the bytes tell
        ("empty.xml", RSS, "no entries"),
        ("empty.xml", None, "no entries"),
        ("empty-channel.xml", RSS, "no entries"),
    ],
)
def test_documents_without_entries_are_feed_errors(
    name: str, content_type: str | None, words: str
) -> None:
    error = feed_error(name, content_type)
    assert words in str(error)
    assert error.reason == "feed"


def test_entity_expansion_bomb_is_bounded_in_time_and_memory() -> None:
    tracemalloc.start()
    started = time.monotonic()
    try:
        try:
            parsed: ParsedFeed | None = parse("billion-laughs.xml")
        except FeedError:
            parsed = None
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 2.0
    assert peak < 32 * 1024 * 1024
    if parsed is not None:  # entries may survive, but nothing was expanded
        assert all(len(e.title) < 1000 and len(e.summary) < 1000 for e in parsed.entries)


def test_unusable_links_are_skipped_and_counted() -> None:
    parsed = parse("bad-links.xml")
    assert [e.url for e in parsed.entries] == [
        "https://hostile.example/news/1",
        "https://hostile.example/news/2",
    ]
    assert parsed.skipped == 6
    assert "6 entries without a usable link skipped" in parsed.warnings


def test_duplicate_links_collapse_to_the_first_announcement() -> None:
    parsed = parse("duplicates.xml")
    assert [(e.url, e.link) for e in parsed.entries] == [
        ("https://echo.example/story/7", "https://echo.example/story/7"),
        ("https://echo.example/story/8", "https://echo.example/story/8"),
    ]
    assert parsed.skipped == 0  # duplicates are not failures


def test_zone_less_times_use_the_source_time_zone_over_the_language() -> None:
    # A Chinese-language source declared in Seoul time: the declaration wins.
    parsed = parse("dates-zh.xml", lang="zh", timezone="Asia/Seoul")
    assert parsed.entries[1].published_at == utc(2025, 3, 26, 0, 30)


def test_zone_less_times_without_any_hint_are_utc() -> None:
    parsed = parse("dates-zh.xml")
    assert parsed.entries[1].published_at == utc(2025, 3, 26, 9, 30)
    # and without a Chinese hint, CST keeps its RFC 822 meaning (US Central, -06:00)
    assert parsed.entries[0].published_at == utc(2025, 3, 27)


def test_language_tags_with_underscores() -> None:
    body = (
        (FEEDS / "dates-zh.xml")
        .read_bytes()
        .replace(b"<channel>", b"<channel><language>zh_CN</language>")
    )
    page = Page(FEED_URL, FEED_URL, 200, (("Content-Type", RSS),), body, NOW)
    parsed = parse_feed(page, Source("test", FEED_URL), now=NOW)
    assert {e.lang for e in parsed.entries} == {"zh"}
    assert parsed.entries[1].published_at == utc(2025, 3, 26, 1, 30)  # China time


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("ko-KR", "ko"), ("zh_CN", "zh"), ("EN-us", "en"), ("ja", "ja"), ("", None), (None, None)],
)
def test_primary_language(tag: str | None, expected: str | None) -> None:
    assert primary_language(tag) == expected


@pytest.mark.parametrize(
    ("source", "feed_lang", "zone"),
    [
        (Source("s", FEED_URL, lang="ko"), None, "Asia/Seoul"),
        (Source("s", FEED_URL), "zh-CN", "Asia/Shanghai"),
        (Source("s", FEED_URL, lang="en", timezone="Asia/Seoul"), "en", "Asia/Seoul"),
        (Source("s", FEED_URL, lang="en"), "ko", None),  # the declared language wins
        (Source("s", FEED_URL), None, None),
    ],
)
def test_source_zone(source: Source, feed_lang: str | None, zone: str | None) -> None:
    found = source_zone(source, feed_lang)
    assert (str(found) if found else None) == zone


@pytest.mark.parametrize(
    ("markup", "is_html", "text"),
    [
        ("<p>Price <b>cut</b></p>", True, "Price cut"),
        ("a &lt; b &amp;&amp; c", True, "a < b && c"),
        ("tokens < $1 and > rivals", True, "tokens < $1 and > rivals"),  # not tags
        ("3 < 4 <br/> 5 > 2", True, "3 < 4 5 > 2"),
        ("Price < $1 per million > rivals", False, "Price < $1 per million > rivals"),
        ("<b>literal</b>", False, "<b>literal</b>"),
        ("  many\n\t spaces  ", False, "many spaces"),
    ],
)
def test_plain_text(markup: str, is_html: bool, text: str) -> None:
    assert plain_text(markup, is_html=is_html) == text


def test_plain_text_titles_keep_angle_brackets() -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>Prices &lt; $1 per million tokens &gt; last year's</title>"
        b"<link>https://feeds.example/a</link>"
        b"<description>a &lt; b and c &gt; d</description></item></channel></rss>"
    )
    page = Page(FEED_URL, FEED_URL, 200, (("Content-Type", RSS),), body, NOW)
    entry = parse_feed(page, Source("test", FEED_URL), now=NOW).entries[0]
    assert entry.title == "Prices < $1 per million tokens > last year's"
    assert entry.summary == "a < b and c > d"


def test_a_body_naming_a_local_file_is_not_read_from_disk(tmp_path: Path) -> None:
    secret = tmp_path / "secret-feed.xml"
    secret.write_bytes((FEEDS / "rss20.xml").read_bytes())
    page = Page(FEED_URL, FEED_URL, 200, (("Content-Type", RSS),), str(secret).encode(), NOW)
    with pytest.raises(FeedError):
        parse_feed(page, Source("test", FEED_URL), now=NOW)


# --------------------------------------------------------------------------- polling, end to end


def _settings(*sites: LoopbackSite, **overrides: Any) -> FetchSettings:
    values: dict[str, Any] = {
        "allow_hosts": tuple(f"{s.host}:{s.port}" for s in sites),
        "timeout": 2.0,
        "connect_timeout": 1.0,
    }
    values.update(overrides)
    return FetchSettings(**values)


def _serve(
    site: LoopbackSite, path: str, name: str, content_type: str = RSS, **route: Any
) -> Source:
    site.add(path, Route((FEEDS / name).read_bytes(), content_type=content_type, **route))
    return Source(name.split(".", maxsplit=1)[0], site.url(path))


def test_poll_ok_then_not_modified(site: LoopbackSite) -> None:
    source = _serve(site, "/rss.xml", "rss20.xml")
    with Fetcher(_settings(site)) as fetcher:
        first = poll_source(fetcher, source, Validators(), NOW)
        second = poll_source(fetcher, source, first.validators, NOW)
    assert first.status is PollStatus.OK
    assert first.http_status == 200
    assert [e.url for e in first.entries][:2] == [
        "https://techdesk.example/2025/03/26/price-cut",
        "https://techdesk.example/2025/03/26/seoul-chips",
    ]
    assert first.entries[2].url == site.url("/2025/03/25/leaderboard")  # relative to the feed
    assert first.validators.etag
    assert (second.status, second.http_status, second.entries) == (PollStatus.NOT_MODIFIED, 304, ())
    assert second.validators == first.validators
    assert site.hits["/rss.xml"] == 2


def test_poll_korean_feed_with_charset_in_the_header_only(site: LoopbackSite) -> None:
    source = _serve(
        site,
        "/kr.xml",
        "euc-kr-header-only.xml",
        content_type="application/rss+xml; charset=EUC-KR",
    )
    with Fetcher(_settings(site)) as fetcher:
        result = poll_source(fetcher, source, Validators(), NOW)
    assert result.status is PollStatus.OK
    assert [e.title for e in result.entries] == [
        "국내 기업, 중국산 저가 AI 모델 도입 검토",
        "반도체 투자 확대 발표",
    ]


def test_poll_keeps_entries_of_a_broken_feed_with_warnings(site: LoopbackSite) -> None:
    source = _serve(site, "/broken.xml", "broken-items.xml")
    with Fetcher(_settings(site)) as fetcher:
        result = poll_source(fetcher, source, Validators(), NOW)
    assert (result.status, len(result.entries), result.skipped) == (PollStatus.OK, 2, 1)
    assert result.warnings


FAILING = [
    ("http-500", Route(b"oops", status=500), "http_5xx", 500),
    ("http-404", Route(b"gone", status=404), "http_4xx", 404),
    ("html", Route((FEEDS / "not-a-feed.html").read_bytes()), "feed", 200),
    ("empty", Route(b"", content_type=RSS), "feed", 200),
    ("timeout", Route((FEEDS / "rss20.xml").read_bytes(), delay=3.0), "timeout", None),
    ("too-large", Route(b"<rss>" + b" " * 1024, repeat=2048, chunked=True), "too_large", None),
    ("redirect-loop", Route(b"", status=302, headers=(("Location", "/feed"),)), "redirects", None),
]


@pytest.mark.parametrize(
    ("route", "reason", "status"), [f[1:] for f in FAILING], ids=[f[0] for f in FAILING]
)
def test_poll_failures_are_values(
    site: LoopbackSite, route: Route, reason: str, status: int | None
) -> None:
    site.add("/feed", route)
    source = Source("bad", site.url("/feed"))
    with Fetcher(_settings(site, timeout=0.3, max_page_bytes=1024 * 1024)) as fetcher:
        started = time.monotonic()
        result = poll_source(fetcher, source, Validators(), NOW)
    assert time.monotonic() - started < 1.5
    assert result.status is PollStatus.FAILED
    assert result.entries == ()
    failure = result.failure
    assert failure is not None
    assert (failure.stage, failure.source, failure.url) == (Stage.POLL, "bad", source.url)
    assert (failure.reason, failure.status, result.http_status) == (reason, status, status)


def test_poll_refuses_a_source_on_an_internal_address(
    site: LoopbackSite, canary: LoopbackSite
) -> None:
    source = Source("internal", canary.url("/latest/meta-data/"))
    with Fetcher(_settings(site)) as fetcher:
        result = poll_source(fetcher, source, Validators(), NOW)
    assert result.failure is not None
    assert result.failure.reason == "blocked_address"
    assert canary.total_hits() == 0


def test_poll_feed_body_naming_a_local_file(site: LoopbackSite, tmp_path: Path) -> None:
    secret = tmp_path / "local.xml"
    secret.write_bytes((FEEDS / "rss20.xml").read_bytes())
    site.add("/feed", Route(str(secret).encode(), content_type=RSS))
    with Fetcher(_settings(site)) as fetcher:
        result = poll_source(fetcher, Source("sly", site.url("/feed")), Validators(), NOW)
    assert result.status is PollStatus.FAILED
    assert result.entries == ()


def test_poll_sources_returns_one_result_per_source_in_order(site: LoopbackSite) -> None:
    sources = [
        _serve(site, "/a.xml", "rss20.xml"),
        _serve(site, "/b.xml", "empty.xml"),
        _serve(site, "/c.rdf", "rss10.rdf", content_type="application/rdf+xml"),
    ]
    etag = '"not-the-current-one"'
    results = poll_sources(sources, {"rss20": Validators(etag=etag)}, _settings(site), NOW)
    assert [(r.source, r.status) for r in results] == [
        ("rss20", PollStatus.OK),
        ("empty", PollStatus.FAILED),
        ("rss10", PollStatus.OK),
    ]


def test_entries_beyond_the_cap_are_skipped_and_counted() -> None:
    items = "".join(
        f"<item><title>n{i}</title><link>http://cap.test/{i}</link></item>" for i in range(30)
    )
    body = f"<rss version='2.0'><channel><title>c</title>{items}</channel></rss>".encode()
    page = Page(
        "http://cap.test/rss",
        "http://cap.test/rss",
        200,
        (("Content-Type", "application/rss+xml"),),
        body,
        NOW,
    )
    parsed = parse_feed(page, Source("cap", "http://cap.test/rss"), now=NOW, max_entries=10)
    assert [e.title for e in parsed.entries] == [f"n{i}" for i in range(10)]
    assert parsed.skipped == 20
    assert any("max_entries=10" in w for w in parsed.warnings)
