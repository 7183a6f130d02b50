"""Tests for pipeline.sources: the sources file, its errors (file and line) and the real seeds."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.fetch_settings import DEFAULT_USER_AGENT
from pipeline.records import Source
from pipeline.settings import SEEDS_DIR
from pipeline.sources import load_sources, parse_sources
from pipeline.urls import is_http_url

GOOD = """\
settings:
  timeout: 20            # an integer where a number is expected is fine
  allow_hosts: ["Intranet.Example:8080"]
sources:
  - name: wire-en
    url: "https://wire.example/rss.xml"
    lang: en
    tags: [wire]
  - {name: desk-ko, url: "https://desk.example/feed ", lang: ko, timezone: Asia/Seoul}
  - name: quiet
    url: http://quiet.example/atom
    robots: false
"""


def config_error(text: str) -> ConfigError:
    """Parse ``text`` as ``sources.yaml`` and return the ConfigError it raised."""
    with pytest.raises(ConfigError) as info:
        parse_sources(text, "sources.yaml")
    return info.value


def source(body: str) -> str:
    """A sources file with one source whose mapping lines are ``body`` (4-space indented)."""
    return "sources:\n  - name: one\n" + "".join(f"    {line}\n" for line in body.splitlines())


def test_good_file_parses() -> None:
    config = parse_sources(GOOD, "sources.yaml")
    assert config.path == "sources.yaml"
    assert config.fetch.timeout == 20.0
    assert config.fetch.allow_hosts == ("intranet.example:8080",)
    assert config.sources == (
        Source("wire-en", "https://wire.example/rss.xml", lang="en", tags=("wire",)),
        Source("desk-ko", "https://desk.example/feed", lang="ko", timezone="Asia/Seoul"),
        Source("quiet", "http://quiet.example/atom", robots=False),
    )


def test_settings_are_optional_and_default() -> None:
    config = parse_sources("sources: []\n", "s.yaml")
    assert config.sources == ()
    assert config.fetch.user_agent == DEFAULT_USER_AGENT
    assert (config.fetch.per_host_concurrency, config.fetch.max_redirects) == (2, 5)


def test_robots_setting_turns_robots_off_for_every_source() -> None:
    text = GOOD.replace("settings:\n", "settings:\n  robots: false\n")
    assert [s.robots for s in parse_sources(text, "s.yaml").sources] == [False] * 3


# (id, file text, line named in the error, words the message must contain)
BAD = [
    (
        "unknown-key",
        source("url: https://a.example/feed\ncolour: blue"),
        4,
        ["colour", "unknown key"],
    ),
    # A misspelt key is unknown and leaves a required one missing: the typo is what to show.
    (
        "misspelt-key",
        "sources:\n  - name: ok\n    url: https://a.example/rss\n  - name: typo\n"
        "    ulr: https://b.example/rss\n",
        5,
        ["sources.1.ulr", "did you mean 'url'", "1 more"],
    ),
    (
        "misspelt-setting",
        "settings:\n  timout: 5\nsources: []\n",
        2,
        ["settings.timout", "did you mean 'timeout'"],
    ),
    ("misspelt-top-level", "source:\n  - name: a\n", 1, ["did you mean 'sources'"]),
    ("unknown-top-level-key", "sources: []\nfeeds: []\n", 2, ["feeds"]),
    ("unknown-setting", "settings:\n  timeout: 5\n  speed: 3\nsources: []\n", 3, ["speed"]),
    (
        "wrong-type-bool",
        source("url: https://a.example/feed\nrobots: 'yes'"),
        4,
        ["robots", "boolean"],
    ),
    ("wrong-type-number", "settings:\n  timeout: '30'\nsources: []\n", 2, ["timeout"]),
    ("wrong-type-list", source("url: https://a.example/feed\ntags: ai"), 4, ["tags", "list"]),
    (
        "wrong-type-list-item",
        source("url: https://a.example/feed\ntags:\n  - ai\n  - 7"),
        6,
        ["tags.1"],
    ),
    ("wrong-type-name", "sources:\n  - name: 42\n    url: https://a.example/feed\n", 2, ["name"]),
    ("source-not-a-mapping", "sources:\n  - https://a.example/feed\n", 2, ["sources.0"]),
    ("sources-not-a-list", "sources:\n  name: a\n", 1, ["sources", "list"]),
    ("sources-empty-value", "settings: {}\nsources:\n", 2, ["sources"]),
    ("sources-missing", "settings:\n  timeout: 5\n", 1, ["sources", "required"]),
    ("url-missing", "sources:\n  - name: a\n    lang: en\n", 2, ["url", "required"]),
    (
        "duplicate-key",
        source("url: https://a.example/feed\nlang: en\nurl: https://b.example/"),
        5,
        ["duplicate key 'url'"],
    ),
    (
        "duplicate-setting",
        "settings:\n  timeout: 5\n  timeout: 6\nsources: []\n",
        3,
        ["duplicate key 'timeout'"],
    ),
    (
        "duplicate-source-name",
        "sources:\n  - {name: a, url: 'https://a.example/1'}\n  - {name: b, url: 'https://b.example/'}\n"
        "  - {name: a, url: 'https://a.example/2'}\n",
        4,
        ["duplicate source name 'a'", "line 2"],
    ),
    (
        "invalid-yaml-flow",
        "sources:\n  - {name: a, url: https://a.example/feed\n  - name: b\n",
        3,
        ["invalid YAML"],
    ),
    ("invalid-yaml-tab", "sources:\n\t- name: a\n", 2, ["invalid YAML"]),
    ("invalid-yaml-indent", "sources:\n  - name: a\n   url: x\n", 3, ["invalid YAML"]),
    ("two-documents", "sources: []\n---\nsources: []\n", 2, ["invalid YAML"]),
    ("bad-url-scheme", source("url: ftp://a.example/feed"), 3, ["url", "http"]),
    ("bad-url-relative", source("url: /feed.xml"), 3, ["url"]),
    ("bad-url-no-host", source("url: 'https:///feed.xml'"), 3, ["url"]),
    ("bad-url-port", source("url: https://a.example:99999/feed"), 3, ["url"]),
    ("bad-url-space", source("url: https://a example/feed"), 3, ["url"]),
    ("bad-url-javascript", source("url: 'javascript:alert(1)'"), 3, ["url"]),
    (
        "unknown-time-zone",
        source("url: https://a.example/feed\ntimezone: Asia/Seul"),
        4,
        ["Asia/Seul"],
    ),
    (
        "time-zone-path",
        source("url: https://a.example/feed\ntimezone: ../../etc/passwd"),
        4,
        ["time zone"],
    ),
    (
        "time-zone-offset",
        source("url: https://a.example/feed\ntimezone: '+09:00'"),
        4,
        ["time zone"],
    ),
    ("bad-lang", source("url: https://a.example/feed\nlang: korean"), 4, ["lang"]),
    ("bad-name", "sources:\n  - name: 'two words'\n    url: https://a.example/\n", 2, ["name"]),
    ("bad-kind", source("url: https://a.example/feed\nkind: atom"), 4, ["kind"]),
    ("non-string-key", source("url: https://a.example/feed\n1: x"), 4, ["keys must be strings"]),
    ("yaml-1.1-boolean-key", "sources: []\nyes: 1\n", 2, ["keys must be strings"]),
    (
        "per-host-above-two",
        "settings:\n  per_host_concurrency: 3\nsources: []\n",
        2,
        ["per_host_concurrency"],
    ),
    ("redirects-above-five", "settings:\n  max_redirects: 6\nsources: []\n", 2, ["max_redirects"]),
    ("top-level-list", "- name: a\n  url: https://a.example/\n", 1, ["mapping"]),
    ("top-level-scalar", "just some words\n", 1, ["mapping"]),
    ("empty-file", "", 1, ["empty"]),
    ("only-comments", "# no sources yet\n\n", 1, ["empty"]),
]


@pytest.mark.parametrize(("text", "line", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_file_names_file_and_line(text: str, line: int, words: list[str]) -> None:
    error = config_error(text)
    assert (error.path, error.line) == ("sources.yaml", line)
    assert str(error).startswith(f"sources.yaml:{line}: ")
    for word in words:
        assert word in str(error)


def test_load_sources_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "my-sources.yaml"
    path.write_text(GOOD, encoding="utf-8")
    config = load_sources(path)
    assert config.path == str(path)
    assert len(config.sources) == 3


def test_load_sources_names_the_file_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(source("url: https://a.example/feed\ncolour: blue"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_sources(path)
    assert str(info.value).startswith(f"{path}:4: ")


@pytest.mark.parametrize("problem", ["missing", "directory", "not-utf8"])
def test_unreadable_sources_file(tmp_path: Path, problem: str) -> None:
    path = tmp_path / "sources.yaml"
    if problem == "directory":
        path.mkdir()
    elif problem == "not-utf8":
        path.write_bytes("sources: []\n# 뉴스\n".encode("euc-kr"))
    with pytest.raises(ConfigError) as info:
        load_sources(path)
    assert info.value.path == str(path)


# --------------------------------------------------------------------------- the real file


@pytest.fixture(scope="module")
def real_sources() -> tuple[Source, ...]:
    return load_sources(SEEDS_DIR / "sources.yaml").sources


def test_real_sources_file_loads(real_sources: tuple[Source, ...]) -> None:
    assert len(real_sources) >= 12


def test_real_sources_cover_korean_english_and_chinese(real_sources: tuple[Source, ...]) -> None:
    languages = Counter(s.lang for s in real_sources)
    for lang in ("ko", "en", "zh"):
        assert languages[lang] >= 2, lang


def test_real_sources_are_well_formed(real_sources: tuple[Source, ...]) -> None:
    assert len({s.name for s in real_sources}) == len(real_sources)
    assert len({s.url for s in real_sources}) == len(real_sources)
    for feed in real_sources:
        assert is_http_url(feed.url), feed.name
        assert feed.lang is not None, feed.name
    # Zone-less feed times of Korean and Chinese outlets need a zone (DESIGN rule 8).
    zones = {s.timezone for s in real_sources if s.lang in ("ko", "zh") and s.timezone}
    assert zones <= {"Asia/Seoul", "Asia/Shanghai"}


def test_real_settings_identify_the_project() -> None:
    config = load_sources(SEEDS_DIR / "sources.yaml")
    agent = config.fetch.user_agent
    assert agent.startswith("newswatch/")
    assert "https://" in agent
    assert config.fetch.per_host_concurrency <= 2
    assert config.fetch.max_redirects <= 5
    assert config.fetch.allow_hosts == ()  # the shipped file never opens internal addresses
