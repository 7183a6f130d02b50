"""Tests for pipeline.robots: RFC 9309 matching and the status-code policy (no network here;
fetching robots.txt through the fetcher is tested in test_fetch.py)."""

from __future__ import annotations

import time

import pytest

from pipeline.fetch_settings import DEFAULT_USER_AGENT
from pipeline.robots import MAX_ROBOTS_BYTES, RobotsRules, Rule, rules_for_status

UA = DEFAULT_USER_AGENT  # "newswatch/0.1 (+https://...)": product token "newswatch"
SITE = "https://news.example"

# (id, robots.txt, path, allowed for newswatch?)
MATCHING = [
    ("empty-file", "", "/a", True),
    ("comments-only", "# nothing here\n", "/a", True),
    ("disallow-all", "User-agent: *\nDisallow: /\n", "/a", False),
    ("disallow-empty", "User-agent: *\nDisallow:\n", "/a", True),
    ("prefix", "User-agent: *\nDisallow: /private\n", "/private-notes", False),
    ("prefix-other", "User-agent: *\nDisallow: /private\n", "/public", True),
    ("root-is-allowed", "User-agent: *\nDisallow: /private\n", "/", True),
    # Longest match wins, whatever the order of the lines (RFC 9309 2.2.2).
    (
        "allow-root-then-disallow",
        "User-agent: *\nAllow: /\nDisallow: /search\n",
        "/search?q=ai",
        False,
    ),
    ("disallow-root-then-allow", "User-agent: *\nDisallow: /\nAllow: /news/\n", "/news/1", True),
    (
        "disallow-root-then-allow-other",
        "User-agent: *\nDisallow: /\nAllow: /news/\n",
        "/about",
        False,
    ),
    ("tie-goes-to-allow", "User-agent: *\nDisallow: /page\nAllow: /page\n", "/page", True),
    # Wildcards and end anchors.
    ("star-suffix", "User-agent: *\nDisallow: /*.pdf$\n", "/files/report.pdf", False),
    ("anchor-not-at-end", "User-agent: *\nDisallow: /*.pdf$\n", "/files/report.pdf?x=1", True),
    ("star-query", "User-agent: *\nDisallow: /*?print=\n", "/story/1?print=1", False),
    ("star-query-other", "User-agent: *\nDisallow: /*?print=\n", "/story/1?page=2", True),
    ("star-middle", "User-agent: *\nDisallow: /news/*/amp\n", "/news/2025/03/amp", False),
    ("star-trailing", "User-agent: *\nDisallow: /tmp*\n", "/tmpfile", False),
    ("anchored-exact", "User-agent: *\nDisallow: /$\n", "/", False),
    ("anchored-exact-other", "User-agent: *\nDisallow: /$\n", "/a", True),
    (
        "longer-wildcard-allow",
        "User-agent: *\nDisallow: /news/\nAllow: /news/*.html$\n",
        "/news/a.html",
        True,
    ),
    ("query-is-part-of-path", "User-agent: *\nDisallow: /search?\n", "/search?q=1", False),
    # Groups: our product token, case-insensitively, exactly; else "*".
    (
        "our-group-replaces-star",
        "User-agent: *\nDisallow: /\n\nUser-agent: newswatch\nDisallow: /drafts/\n",
        "/a",
        True,
    ),
    (
        "our-group-rules",
        "User-agent: *\nDisallow: /\n\nUser-agent: newswatch\nDisallow: /drafts/\n",
        "/drafts/1",
        False,
    ),
    ("agent-case", "User-agent: NewsWatch\nDisallow: /x\n", "/x", False),
    ("agent-with-version", "User-agent: newswatch/2.0\nDisallow: /x\n", "/x", False),
    ("substring-agent-is-not-us", "User-agent: news\nDisallow: /\n", "/a", True),
    ("longer-agent-is-not-us", "User-agent: newswatcher\nDisallow: /\n", "/a", True),
    ("other-agent-only", "User-agent: OtherBot\nDisallow: /\n", "/a", True),
    (
        "groups-for-us-are-merged",
        "User-agent: newswatch\nDisallow: /a\n\nUser-agent: other\nDisallow: /\n\n"
        "User-agent: newswatch\nDisallow: /b\n",
        "/b",
        False,
    ),
    (
        "shared-group",
        "User-agent: other\nUser-agent: newswatch\nDisallow: /shared\n",
        "/shared",
        False,
    ),
    (
        "blank-line-inside-group",
        "User-agent: other\n\nUser-agent: newswatch\nDisallow: /s\n",
        "/s",
        False,
    ),
    ("rules-before-any-agent", "Disallow: /\nUser-agent: *\nDisallow: /x\n", "/a", True),
    # File quirks.
    ("byte-order-mark", "\ufeffUser-agent: *\nDisallow: /\n", "/a", False),
    ("crlf", "User-agent: *\r\nDisallow: /private\r\n", "/private/1", False),
    (
        "spacing-and-case",
        "  user-AGENT  :  *  \n  DISALLOW :   /private  # comment\n",
        "/private/1",
        False,
    ),
    (
        "other-lines-ignored",
        "User-agent: *\nCrawl-delay: 10\nSitemap: https://news.example/s.xml\nDisallow: /x\n",
        "/x",
        False,
    ),
    # Percent-encoding: compared after normalization (RFC 9309 2.2.2).
    ("encoded-pattern", "User-agent: *\nDisallow: /%EB%89%B4%EC%8A%A4/\n", "/뉴스/1", False),
    ("unicode-pattern", "User-agent: *\nDisallow: /뉴스/\n", "/%eb%89%b4%ec%8a%a4/1", False),
    ("encoded-unreserved", "User-agent: *\nDisallow: /%7Euser/\n", "/~user/page", False),
]


@pytest.mark.parametrize(
    ("text", "path", "allowed"), [m[1:] for m in MATCHING], ids=[m[0] for m in MATCHING]
)
def test_matching(text: str, path: str, allowed: bool) -> None:
    assert RobotsRules(text).allows(SITE + path, UA) is allowed


def test_star_group_applies_to_other_agents() -> None:
    rules = RobotsRules("User-agent: *\nDisallow: /\n\nUser-agent: newswatch\nAllow: /\n")
    assert rules.allows(SITE + "/a", UA)
    assert not rules.allows(SITE + "/a", "otherbot/1.0")


def test_hostile_wildcards_do_not_backtrack() -> None:
    rules = RobotsRules("User-agent: *\nDisallow: /" + "*a" * 30 + "*b$\n")
    started = time.monotonic()
    assert rules.allows(SITE + "/" + "a" * 5000, UA)
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    ("pattern", "target", "hit"),
    [
        ("/a*b", "/axxb", True),
        ("/a*b", "/ab", True),
        ("/a*b", "/ba", False),
        ("/a*b$", "/abab", True),
        ("/a*b$", "/aba", False),
        ("*", "/anything", True),
        ("/**x", "/yx", True),
        ("/a$", "/a", True),
        ("/a$", "/ab", False),
    ],
)
def test_rule_glob(pattern: str, target: str, hit: bool) -> None:
    assert Rule.of(False, pattern).matches(target) is hit


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (200, True),
        (204, True),
        (400, True),
        (401, True),
        (403, True),
        (404, True),
        (410, True),
        (500, False),
        (502, False),
        (503, False),
        (599, False),
    ],
)
def test_status_policy(status: int, allowed: bool) -> None:
    # RFC 9309 2.3.1: 4xx "unavailable" means no rules; 5xx "unreachable" means disallow all.
    assert rules_for_status(status, b"").allows(SITE + "/a", UA) is allowed


def test_status_200_parses_the_body() -> None:
    rules = rules_for_status(200, b"User-agent: *\nDisallow: /x\n")
    assert not rules.allows(SITE + "/x", UA)
    assert rules.allows(SITE + "/y", UA)


def test_body_beyond_the_parse_limit_is_ignored() -> None:
    body = b"User-agent: *\nDisallow: /early\n" + b"#" * MAX_ROBOTS_BYTES + b"\nDisallow: /late\n"
    rules = rules_for_status(200, body)
    assert not rules.allows(SITE + "/early", UA)
    assert rules.allows(SITE + "/late", UA)


def test_invalid_utf8_does_not_break_parsing() -> None:
    rules = rules_for_status(200, b"User-agent: *\n# caf\xe9\nDisallow: /x\n\xc3(\n")
    assert not rules.allows(SITE + "/x", UA)
