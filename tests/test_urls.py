"""Tests for pipeline.urls: one key per article, whatever variant of its URL announced it."""

from __future__ import annotations

import pytest

from pipeline.urls import host_of, host_port, is_http_url, normalize, resolve, same_site

CANONICAL = "https://news.example.com/2025/03/26/story.html"

# Variants of one article URL: each must normalize to CANONICAL.
VARIANTS = [
    ("identical", CANONICAL),
    ("utm", CANONICAL + "?utm_source=rss&utm_medium=feed&utm_campaign=daily"),
    ("utm-upper-case", CANONICAL + "?UTM_SOURCE=rss"),
    ("fbclid", CANONICAL + "?fbclid=IwAR0abc"),
    ("gclid", CANONICAL + "?gclid=EAIaIQ"),
    ("ref", CANONICAL + "?ref=twitter"),
    ("ref_src", CANONICAL + "?ref_src=twsrc%5Etfw"),
    ("mailchimp", CANONICAL + "?mc_cid=1&mc_eid=2"),
    ("key-without-value", CANONICAL + "?utm_source"),
    ("fragment", CANONICAL + "#comments"),
    ("empty-fragment", CANONICAL + "#"),
    ("fragment-and-tracking", CANONICAL + "?utm_source=x#top"),
    ("default-port", "https://news.example.com:443/2025/03/26/story.html"),
    ("empty-port", "https://news.example.com:/2025/03/26/story.html"),
    ("scheme-case", "HTTPS://news.example.com/2025/03/26/story.html"),
    ("host-case", "https://NEWS.Example.COM/2025/03/26/story.html"),
    ("root-dot", "https://news.example.com./2025/03/26/story.html"),
    ("trailing-slash", CANONICAL + "/"),
    ("trailing-slashes", CANONICAL + "//"),
    ("dot-segments", "https://news.example.com/2025/./03/archive/../26/story.html"),
    ("surrounding-space", f"  {CANONICAL}\n"),
    ("empty-query", CANONICAL + "?"),
    ("credentials", "https://reader:secret@news.example.com/2025/03/26/story.html"),
]


@pytest.mark.parametrize("variant", [v for _, v in VARIANTS], ids=[i for i, _ in VARIANTS])
def test_variants_normalize_to_one_key(variant: str) -> None:
    assert normalize(variant) == CANONICAL


# (input, normalized): what must be kept or changed in a specific way.
CASES = [
    ("query-order", "https://a.example/list?b=2&a=1", "https://a.example/list?a=1&b=2"),
    ("query-kept", "https://a.example/view?id=42&utm_source=x", "https://a.example/view?id=42"),
    ("page-param-kept", "https://a.example/list?page=2", "https://a.example/list?page=2"),
    # Keys are sorted, but the values of a repeated key keep their order (it can matter).
    ("repeated-param", "https://a.example/a?id=2&x=0&id=1", "https://a.example/a?id=2&id=1&x=0"),
    ("http-default-port", "http://a.example:80/x", "http://a.example/x"),
    ("http-on-443-kept", "http://a.example:443/x", "http://a.example:443/x"),
    ("https-on-80-kept", "https://a.example:80/x", "https://a.example:80/x"),
    ("other-port-kept", "https://a.example:8443/x/", "https://a.example:8443/x"),
    ("root", "https://a.example", "https://a.example/"),
    ("root-slash", "https://a.example/", "https://a.example/"),
    ("path-case-kept", "https://a.example/Story/ABC", "https://a.example/Story/ABC"),
    ("http-stays-http", "http://a.example/x", "http://a.example/x"),
    ("ipv6-default-port", "https://[2001:db8::1]:443/a", "https://[2001:db8::1]/a"),
    ("ipv6-port", "http://[2001:db8::1]:8080/a", "http://[2001:db8::1]:8080/a"),
    (
        "hangul-path",
        "https://a.example/뉴스/기사",
        "https://a.example/%EB%89%B4%EC%8A%A4/%EA%B8%B0%EC%82%AC",
    ),
    (
        "lower-case-escapes",
        "https://a.example/%eb%89%b4%ec%8a%a4/%ea%b8%b0%ec%82%ac",
        "https://a.example/%EB%89%B4%EC%8A%A4/%EA%B8%B0%EC%82%AC",
    ),
    ("escaped-unreserved", "https://a.example/%7Euser/%41bc", "https://a.example/~user/Abc"),
    ("escaped-slash-kept", "https://a.example/a%2fb", "https://a.example/a%2Fb"),
    (
        "hanzi-query",
        "https://a.example/s?q=大模型",
        "https://a.example/s?q=%E5%A4%A7%E6%A8%A1%E5%9E%8B",
    ),
    (
        "punycode-and-unicode-agree",
        "https://xn--bcher-kva.example/a",
        normalize("https://bücher.example/a"),
    ),
    ("dots-above-root", "https://a.example/../../x", "https://a.example/x"),
    ("dotted-names-kept", "https://a.example/v1.2/a.html", "https://a.example/v1.2/a.html"),
]


@pytest.mark.parametrize(("url", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_normalize_cases(url: str, expected: str) -> None:
    assert normalize(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "ftp://a.example/file",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "JavaScript:void(0)",
        "mailto:editor@a.example",
        "data:text/html,<b>hi</b>",
        "//a.example/relative",
        "/relative/path",
        "relative",
        "",
        "   ",
        "https://",
        "http:///path",
        "http://a.example:99999/",
        "http://a.example:port/",
        "http://[::1/",
        "urn:uuid:1234",
        "tag:a.example,2025:1",
    ],
)
def test_non_http_urls_normalize_to_none(url: str) -> None:
    assert normalize(url) is None
    assert not is_http_url(url.strip())


def test_normalize_is_idempotent() -> None:
    for _, url in VARIANTS:
        once = normalize(url)
        assert once is not None
        assert normalize(once) == once
    for _, url, _ in CASES:
        once = normalize(url)
        assert once is not None
        assert normalize(once) == once


SAME_SITE = [
    ("https://example.com/a", "https://example.com/b", True),
    ("https://www.example.com/a", "https://example.com/b", True),
    ("https://m.example.com/a", "https://www.example.com/b", True),
    ("https://mobile.example.com/a", "http://example.com/", True),
    ("https://EXAMPLE.com/a", "https://example.com./b", True),
    ("https://example.com:8443/a", "https://example.com/b", True),  # ports are not sites
    ("https://news.example.com/a", "https://example.com/b", False),
    ("https://example.com/a", "https://example.org/a", False),
    ("https://example.com/a", "https://example.com.evil.test/a", False),
    ("https://wwwexample.com/a", "https://example.com/a", False),
    ("https://www./a", "https://m./b", False),
    ("not a url", "not a url", False),
    ("", "", False),
    ("/relative", "https://example.com/relative", False),
]


@pytest.mark.parametrize(
    ("first", "second", "same"), SAME_SITE, ids=[f"{a}|{b}" for a, b, _ in SAME_SITE]
)
def test_same_site(first: str, second: str, same: bool) -> None:
    assert same_site(first, second) is same
    assert same_site(second, first) is same


@pytest.mark.parametrize(
    ("link", "base", "expected"),
    [
        ("/b", "https://a.example/feed.xml", "https://a.example/b"),
        ("story.html", "https://a.example/news/feed.xml", "https://a.example/news/story.html"),
        ("../x", "https://a.example/news/feed.xml", "https://a.example/x"),
        ("//cdn.example/x", "https://a.example/", "https://cdn.example/x"),
        ("  https://b.example/y \n", "https://a.example/", "https://b.example/y"),
        ("javascript:alert(1)", "https://a.example/", "javascript:alert(1)"),
    ],
)
def test_resolve(link: str, base: str, expected: str) -> None:
    assert resolve(link, base) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Example.com/a", "example.com:443"),
        ("http://example.com/", "example.com:80"),
        ("http://example.com:8080/", "example.com:8080"),
        ("http://[::1]/", "[::1]:80"),
        ("https://[2001:DB8::1]:8443/", "[2001:db8::1]:8443"),
    ],
)
def test_host_port(url: str, expected: str) -> None:
    assert host_port(url) == expected


def test_host_of() -> None:
    assert host_of("https://News.Example.com./a") == "news.example.com"
    assert host_of("relative/path") == ""
    assert host_of("http://[::1") == ""
