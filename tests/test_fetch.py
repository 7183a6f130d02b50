"""Tests for pipeline.fetch: the guarded HTTP client against real servers on loopback addresses.

Every test talks to a :class:`~flows.loopback.LoopbackSite` (``site`` on 127.0.0.1, allowed by
``allow_hosts``; ``canary`` on 127.0.0.2, never allowed). Nothing of ours is mocked: the only
stand-ins are the ``sleep`` and ``clock`` parameters of the fetcher, a resolver function for
names that must not reach DNS, and spies on the socket module that record connection attempts.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from pydantic import ValidationError

from flows.loopback import LoopbackSite, Route
from pipeline.addresses import AddressPolicy
from pipeline.errors import FetchError, is_transient
from pipeline.fetch import FEED_ACCEPT, Fetcher, retry_after_seconds
from pipeline.fetch_settings import DEFAULT_USER_AGENT, FetchSettings
from pipeline.records import Validators

MiB = 1 << 20
Answer = Callable[[BaseHTTPRequestHandler], Route]
NOW = datetime(2025, 3, 26, 9, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- helpers


def settings_for(*sites: LoopbackSite, **overrides: Any) -> FetchSettings:
    """Small timeouts, and the given sites (only) allowed although they are on loopback."""
    values: dict[str, Any] = {
        "allow_hosts": tuple(f"{s.host}:{s.port}" for s in sites),
        "timeout": 2.0,
        "connect_timeout": 1.0,
        "retry_after_max": 10.0,
    }
    values.update(overrides)
    return FetchSettings(**values)


def fetch_error(call: Callable[[], object]) -> FetchError:
    """Run ``call`` and return the FetchError it raised (fail if it raised nothing)."""
    with pytest.raises(FetchError) as info:
        call()
    return info.value


def redirect(location: str, status: int = 302) -> Route:
    return Route(b"", status=status, headers=(("Location", location),))


def in_order(*routes: Route) -> Route:
    """A route answering with ``routes`` one after another; the last one repeats."""
    pending = list(routes)
    lock = threading.Lock()

    def answer(handler: BaseHTTPRequestHandler) -> Route:
        with lock:
            return pending.pop(0) if len(pending) > 1 else pending[0]

    return Route(dynamic=answer)


class HeaderLog:
    """A route that records the request headers it received (names lower-cased)."""

    def __init__(self, answer: Route | Answer | None = None) -> None:
        self.requests: list[dict[str, str]] = []
        self._answer = answer or Route(b"ok")

    def route(self) -> Route:
        def answer(handler: BaseHTTPRequestHandler) -> Route:
            self.requests.append({k.lower(): v for k, v in handler.headers.items()})
            return self._answer if isinstance(self._answer, Route) else self._answer(handler)

        return Route(dynamic=answer)


class InFlight:
    """Counts requests being answered at the same time, at the server; keeps the peak."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.now = 0
        self.peak = 0
        self._lock = threading.Lock()

    def route(self) -> Route:
        def answer(handler: BaseHTTPRequestHandler) -> Route:
            with self._lock:
                self.now += 1
                self.peak = max(self.peak, self.now)
            time.sleep(self.hold)
            with self._lock:
                self.now -= 1
            return Route(b"slow but fine")

        return Route(dynamic=answer)


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every address a socket tried to connect to during the test."""
    seen: list[Any] = []
    real = socket.socket.connect

    def spy(self: socket.socket, address: Any) -> None:
        seen.append(address)
        real(self, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    return seen


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every name passed to getaddrinfo during the test."""
    seen: list[Any] = []
    real = socket.getaddrinfo

    def spy(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", spy)
    return seen


@pytest.fixture
def unresponsive_port() -> Iterator[int]:
    """A port whose accept queue is full: the kernel drops SYNs, so connecting hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.05)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


# --------------------------------------------------------------------------- basics


def test_get_returns_page_with_status_headers_and_body(site: LoopbackSite) -> None:
    site.add("/a", Route(b"hello", headers=(("X-Test", "1"),)))
    with Fetcher(settings_for(site), clock=lambda: NOW) as fetcher:
        page = fetcher.get(site.url("/a"))
    assert (page.status, page.body, page.url, page.final_url) == (
        200,
        b"hello",
        site.url("/a"),
        site.url("/a"),
    )
    assert page.header("x-test") == "1"
    assert page.fetched_at == NOW


def test_user_agent_names_the_project_and_a_url(site: LoopbackSite) -> None:
    log = HeaderLog()
    site.add("/feed", log.route())
    site.add("/robots.txt", Route(b"", content_type="text/plain"))
    site.add("/page", log.route())
    with Fetcher(settings_for(site)) as fetcher:
        fetcher.fetch_feed(site.url("/feed"))
        fetcher.fetch_page(site.url("/page"))
    assert [r["user-agent"] for r in log.requests] == [DEFAULT_USER_AGENT] * 2
    agent = log.requests[0]["user-agent"]
    assert agent.startswith("newswatch/")
    assert "https://" in agent
    assert log.requests[0]["accept"] == FEED_ACCEPT


@pytest.mark.parametrize(
    ("status", "reason"),
    [(500, "http_5xx"), (502, "http_5xx"), (404, "http_4xx"), (410, "http_4xx"), (403, "http_4xx")],
    ids=str,
)
def test_error_statuses_have_typed_reasons(site: LoopbackSite, status: int, reason: str) -> None:
    site.add("/x", Route(b"nope", status=status))
    with Fetcher(settings_for(site)) as fetcher:
        error = fetch_error(lambda: fetcher.get(site.url("/x")))
    assert (error.reason, error.status, error.url) == (reason, status, site.url("/x"))


@pytest.mark.parametrize(
    "ctype",
    ["application/pdf", "application/PDF; name=report.pdf", "image/png", "video/mp4"],
)
def test_pdf_and_media_pages_are_unsupported(site: LoopbackSite, ctype: str) -> None:
    site.add("/robots.txt", Route(b"", content_type="text/plain"))
    site.add("/report", Route(b"%PDF-1.7 " * 100, content_type=ctype))
    with Fetcher(settings_for(site)) as fetcher:
        error = fetch_error(lambda: fetcher.fetch_page(site.url("/report")))
    assert error.reason == "unsupported_content"


def test_settings_refuse_limits_above_the_bounds() -> None:
    for bad in (
        {"per_host_concurrency": 3},
        {"max_redirects": 6},
        {"concurrency": 0},
        {"timeout": 0},
    ):
        with pytest.raises(ValidationError):
            FetchSettings(**bad)


# --------------------------------------------------------------------------- concurrency


def test_at_most_two_requests_in_flight_per_host(site: LoopbackSite) -> None:
    meter = InFlight(hold=0.15)
    site.add("/slow", meter.route())
    urls = [site.url(f"/slow?i={i}") for i in range(8)]
    with Fetcher(settings_for(site, concurrency=8)) as fetcher, ThreadPoolExecutor(8) as pool:
        pages = list(pool.map(fetcher.get, urls))
    assert all(p.status == 200 for p in pages)
    assert meter.peak == 2  # never more than two, and the two lanes are really used


def test_one_request_per_host_when_configured(site: LoopbackSite) -> None:
    meter = InFlight(hold=0.1)
    site.add("/slow", meter.route())
    urls = [site.url(f"/slow?i={i}") for i in range(4)]
    settings = settings_for(site, per_host_concurrency=1)
    with Fetcher(settings) as fetcher, ThreadPoolExecutor(4) as pool:
        list(pool.map(fetcher.get, urls))
    assert meter.peak == 1


@pytest.mark.parametrize("concurrency", [1, 3, 5])
def test_global_concurrency_is_configurable(concurrency: int) -> None:
    meter = InFlight(hold=0.1)
    with ExitStack() as stack:
        sites = [stack.enter_context(LoopbackSite({"/slow": meter.route()})) for _ in range(4)]
        urls = [s.url(f"/slow?i={i}") for i in range(2) for s in sites]
        settings = settings_for(*sites, concurrency=concurrency)
        with Fetcher(settings) as fetcher, ThreadPoolExecutor(len(urls)) as pool:
            list(pool.map(fetcher.get, urls))
    assert meter.peak == concurrency


# --------------------------------------------------------------------------- timeouts


def test_slow_answer_fails_with_timeout_in_bounded_time(site: LoopbackSite) -> None:
    site.add("/slow", Route(b"late", delay=3.0))
    with Fetcher(settings_for(site, timeout=0.3)) as fetcher:
        started = time.monotonic()
        error = fetch_error(lambda: fetcher.get(site.url("/slow")))
    assert error.reason == "timeout"
    assert time.monotonic() - started < 1.5


def test_trickling_body_hits_the_total_timeout(site: LoopbackSite) -> None:
    # Each 1 KiB arrives well within a read timeout; only a total deadline stops this.
    site.add("/drip", Route(b"x" * 200 * 1024, trickle=0.02))
    with Fetcher(settings_for(site, timeout=0.4)) as fetcher:
        started = time.monotonic()
        error = fetch_error(lambda: fetcher.get(site.url("/drip")))
    assert error.reason == "timeout"
    assert time.monotonic() - started < 1.5


def test_connect_timeout(unresponsive_port: int) -> None:
    settings = FetchSettings(
        allow_hosts=(f"127.0.0.1:{unresponsive_port}",), timeout=5.0, connect_timeout=0.2
    )
    with Fetcher(settings) as fetcher:
        started = time.monotonic()
        error = fetch_error(lambda: fetcher.get(f"http://127.0.0.1:{unresponsive_port}/"))
    assert error.reason == "timeout"
    assert time.monotonic() - started < 1.0  # the connect timeout, not the total one


def test_refused_connection_is_connect_error(site: LoopbackSite) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    settings = FetchSettings(allow_hosts=(f"127.0.0.1:{port}",), timeout=1.0)
    with Fetcher(settings) as fetcher:
        error = fetch_error(lambda: fetcher.get(f"http://127.0.0.1:{port}/"))
    assert error.reason == "connect"
    assert error.url == f"http://127.0.0.1:{port}/"


# --------------------------------------------------------------------------- size cap


def _fetch_measured(fetcher: Fetcher, url: str) -> tuple[FetchError | None, int]:
    """Fetch ``url``; return the error (if any) and the peak of traced allocations."""
    tracemalloc.start()
    try:
        fetcher.get(url)
        error = None
    except FetchError as exc:
        error = exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return error, peak


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_forty_mib_page_is_too_large_in_bounded_memory(site: LoopbackSite, chunked: bool) -> None:
    site.add("/huge", Route(b"x" * MiB, repeat=40, chunked=chunked))
    with Fetcher(settings_for(site, max_page_bytes=2 * MiB, timeout=5.0)) as fetcher:
        error, peak = _fetch_measured(fetcher, site.url("/huge"))
    assert error is not None
    assert error.reason == "too_large"
    assert peak < 4 * MiB  # the cap plus buffers, nowhere near 40 MiB


def test_default_cap_refuses_forty_mib(site: LoopbackSite) -> None:
    site.add("/huge", Route(b"x" * MiB, repeat=40, chunked=True))
    with Fetcher(settings_for(site, timeout=5.0)) as fetcher:
        error, peak = _fetch_measured(fetcher, site.url("/huge"))
    assert error is not None
    assert error.reason == "too_large"
    assert peak < 16 * MiB  # the 10 MiB default cap, plus buffers


def test_compressed_bomb_is_capped_after_decoding_in_bounded_memory(site: LoopbackSite) -> None:
    bomb = gzip.compress(b"\0" * 40 * MiB, 9)  # about 40 KiB on the wire
    site.add("/bomb", Route(bomb, headers=(("Content-Encoding", "gzip"),)))
    with Fetcher(settings_for(site, max_page_bytes=MiB)) as fetcher:
        error, peak = _fetch_measured(fetcher, site.url("/bomb"))
    assert error is not None
    assert error.reason == "too_large"
    assert peak < 4 * MiB


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(
    ("size", "fits"), [(MiB, True), (MiB + 1, False)], ids=["at-cap", "one-over"]
)
def test_cap_boundary(site: LoopbackSite, chunked: bool, size: int, fits: bool) -> None:
    site.add("/edge", Route(b"z" * size, chunked=chunked))
    with Fetcher(settings_for(site, max_page_bytes=MiB)) as fetcher:
        if fits:
            assert len(fetcher.get(site.url("/edge")).body) == size
        else:
            assert fetch_error(lambda: fetcher.get(site.url("/edge"))).reason == "too_large"


def test_compressed_body_is_decoded(site: LoopbackSite) -> None:
    text = b"<rss>" + b"news " * 2000 + b"</rss>"
    for path, encoding, data in (
        ("/gz", "gzip", gzip.compress(text)),
        ("/zz", "deflate", zlib.compress(text)),
    ):
        site.add(path, Route(data, headers=(("Content-Encoding", encoding),)))
    with Fetcher(settings_for(site)) as fetcher:
        assert fetcher.get(site.url("/gz")).body == text
        assert fetcher.get(site.url("/zz")).body == text


@pytest.mark.parametrize(
    ("encoding", "body", "reason"),
    [
        ("br", b"\x1b\x00", "unsupported_content"),  # never announced in Accept-Encoding
        ("gzip, gzip", gzip.compress(gzip.compress(b"x")), "unsupported_content"),
        ("gzip", b"\x1f\x8b not really gzip", "connect"),
    ],
    ids=["brotli", "stacked", "corrupt"],
)
def test_undecodable_bodies_are_fetch_errors(
    site: LoopbackSite, encoding: str, body: bytes, reason: str
) -> None:
    site.add("/odd", Route(body, headers=(("Content-Encoding", encoding),)))
    log = HeaderLog()
    site.add("/plain", log.route())
    with Fetcher(settings_for(site)) as fetcher:
        assert fetch_error(lambda: fetcher.get(site.url("/odd"))).reason == reason
        fetcher.get(site.url("/plain"))
    assert log.requests[0]["accept-encoding"] == "gzip, deflate"


# --------------------------------------------------------------------------- redirects


def _chain(site: LoopbackSite, hops: int) -> str:
    """``hops`` redirects /r0 -> /r1 -> ... -> /r{hops} (a 200 page); returns the first URL."""
    for i in range(hops):
        site.add(f"/r{i}", redirect(f"/r{i + 1}", status=(301, 302, 303, 307, 308)[i % 5]))
    site.add(f"/r{hops}", Route(b"arrived"))
    return site.url("/r0")


def test_five_redirects_are_followed(site: LoopbackSite) -> None:
    start = _chain(site, 5)
    with Fetcher(settings_for(site)) as fetcher:
        page = fetcher.get(start)
    assert (page.body, page.url, page.final_url) == (b"arrived", start, site.url("/r5"))


def test_six_redirects_fail(site: LoopbackSite) -> None:
    start = _chain(site, 6)
    with Fetcher(settings_for(site)) as fetcher:
        error = fetch_error(lambda: fetcher.get(start))
    assert error.reason == "redirects"
    assert site.hits["/r6"] == 0


def test_redirect_loop_fails_quickly(site: LoopbackSite) -> None:
    site.add("/a", redirect("/b"))
    site.add("/b", redirect(site.url("/a")))
    with Fetcher(settings_for(site)) as fetcher:
        error = fetch_error(lambda: fetcher.get(site.url("/a")))
    assert error.reason == "redirects"
    assert (site.hits["/a"], site.hits["/b"]) == (1, 1)


def test_redirect_to_another_allowed_site(site: LoopbackSite) -> None:
    with LoopbackSite({"/there": Route(b"other site")}) as other:
        site.add("/go", redirect(other.url("/there")))
        with Fetcher(settings_for(site, other)) as fetcher:
            page = fetcher.get(site.url("/go"))
    assert (page.body, page.final_url) == (b"other site", other.url("/there"))


@pytest.mark.parametrize(
    "location",
    [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "ftp://127.0.0.1/pub",
        "data:text/html,hi",
        "gopher://127.0.0.1:70/",
    ],
)
def test_redirect_to_other_scheme_is_blocked(site: LoopbackSite, location: str) -> None:
    site.add("/go", redirect(location))
    with Fetcher(settings_for(site)) as fetcher:
        error = fetch_error(lambda: fetcher.get(site.url("/go")))
    assert error.reason == "blocked_scheme"


def test_redirect_into_the_canary_is_refused(site: LoopbackSite, canary: LoopbackSite) -> None:
    site.add("/go", redirect(canary.url("/latest/meta-data/")))
    site.add("/go-numeric", redirect(f"http://2130706434:{canary.port}/"))
    site.add("/go-relative", redirect(f"//127.0.0.2:{canary.port}/"))
    with Fetcher(settings_for(site)) as fetcher:
        for path in ("/go", "/go-numeric", "/go-relative"):
            error = fetch_error(lambda p=path: fetcher.get(site.url(p)))
            assert error.reason == "blocked_address", path
            assert error.url == site.url(path)
    assert canary.total_hits() == 0


def test_redirect_into_metadata_is_refused_without_connecting(
    site: LoopbackSite, connects: list[Any]
) -> None:
    site.add("/go", redirect("http://169.254.169.254/latest/meta-data/"))
    with Fetcher(settings_for(site)) as fetcher:
        error = fetch_error(lambda: fetcher.get(site.url("/go")))
    assert error.reason == "blocked_address"
    assert [address[0] for address in connects] == ["127.0.0.1"]  # the site only


# --------------------------------------------------------------------------- schemes, addresses


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "javascript:alert(document.cookie)",
        "ftp://127.0.0.1/feed.xml",
        "data:application/rss+xml,<rss/>",
        "mailto:editor@example.com",
        "/relative/path",
        "http:///no-host",
        "http://127.0.0.1:99999/port-out-of-range",
        "http://127.0.0.1:http/bad-port",
    ],
)
def test_only_http_and_https_urls_are_fetched(url: str, connects: list[Any]) -> None:
    with Fetcher(FetchSettings(timeout=1.0)) as fetcher:
        error = fetch_error(lambda: fetcher.get(url))
    assert error.reason == "blocked_scheme"
    assert error.url == url
    assert connects == []


def test_loopback_is_blocked_unless_allowed(site: LoopbackSite) -> None:
    site.add("/a", Route(b"hi"))
    with Fetcher(FetchSettings(timeout=1.0)) as fetcher:
        error = fetch_error(lambda: fetcher.get(site.url("/a")))
    assert (error.reason, error.url) == ("blocked_address", site.url("/a"))
    assert site.total_hits() == 0
    # Allowing the host without a port, or with the right port, lets it through.
    for entry in ("127.0.0.1", f"127.0.0.1:{site.port}"):
        with Fetcher(FetchSettings(allow_hosts=(entry,), timeout=1.0)) as fetcher:
            assert fetcher.get(site.url("/a")).body == b"hi"
    # The wrong port does not.
    with Fetcher(FetchSettings(allow_hosts=(f"127.0.0.1:{site.port + 1}",))) as fetcher:
        assert fetch_error(lambda: fetcher.get(site.url("/a"))).reason == "blocked_address"


CANARY_SPELLINGS = [
    ("http://127.0.0.2:{port}/", "blocked_address"),
    ("http://2130706434:{port}/", "blocked_address"),  # decimal
    ("http://0x7f000002:{port}/", "blocked_address"),  # hexadecimal
    ("http://0x7f.0.0.2:{port}/", "blocked_address"),  # mixed
    ("http://127.2:{port}/", "blocked_address"),  # short form
    ("http://[::ffff:127.0.0.2]:{port}/", "blocked_address"),  # IPv4-mapped IPv6
    ("http://[::ffff:7f00:2]:{port}/", "blocked_address"),  # the same, in hex
    ("https://127.0.0.2:{port}/", "blocked_address"),
    ("http://127.0.0.2.:{port}/", "blocked_address"),  # trailing dot
    # httpx refuses dotted quads with leading zeros (octal in browsers) as invalid URLs.
    ("http://0177.0.0.2:{port}/", "blocked_scheme"),
]


@pytest.mark.parametrize(
    ("spelling", "reason"), CANARY_SPELLINGS, ids=[s for s, _ in CANARY_SPELLINGS]
)
def test_links_to_the_canary_are_never_contacted(
    site: LoopbackSite, canary: LoopbackSite, spelling: str, reason: str
) -> None:
    # Only the 127.0.0.1 site is allowed; 127.0.0.2 is "an internal host" in any spelling.
    url = spelling.format(port=canary.port)
    with Fetcher(settings_for(site)) as fetcher:
        error = fetch_error(lambda: fetcher.get(url))
    assert (error.reason, error.url) == (reason, url)
    assert canary.total_hits() == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://2852039166/",
        "http://169.254.170.2/v2/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA/",
        "http://[fe80::a9fe:a9fe]/",
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://0.0.0.0/",
    ],
)
def test_internal_addresses_are_refused_without_connecting(
    url: str, connects: list[Any], lookups: list[Any]
) -> None:
    with Fetcher(FetchSettings(timeout=1.0)) as fetcher:
        started = time.monotonic()
        error = fetch_error(lambda: fetcher.get(url))
        elapsed = time.monotonic() - started
    assert error.reason == "blocked_address"
    assert error.url == url
    assert connects == []
    assert elapsed < 0.05
    # Metadata names are refused before any DNS lookup.
    assert not [name for name in lookups if "metadata" in str(name).lower()]


def test_dns_names_are_checked_on_what_they_resolve_to(
    site: LoopbackSite, canary: LoopbackSite
) -> None:
    answers = {
        "rebind.test": ["127.0.0.2"],
        "mixed.test": ["93.184.216.34", "127.0.0.2"],
        "news.test": ["127.0.0.1"],
    }
    policy = AddressPolicy.from_hosts(
        [f"news.test:{site.port}"], resolver=lambda host, port: answers[host]
    )
    log = HeaderLog(Route(b"resolved"))
    site.add("/", log.route())
    with Fetcher(FetchSettings(timeout=1.0), policy=policy) as fetcher:
        for name in ("rebind.test", "mixed.test"):
            error = fetch_error(lambda n=name: fetcher.get(f"http://{n}:{canary.port}/"))
            assert error.reason == "blocked_address"
        # An allowed name is connected to at the address its resolver vetted.
        assert fetcher.get(f"http://news.test:{site.port}/").body == b"resolved"
    assert canary.total_hits() == 0
    assert log.requests[0]["host"] == f"news.test:{site.port}"


def test_environment_proxies_are_ignored(
    site: LoopbackSite, canary: LoopbackSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.setenv(name, canary.base_url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    site.add("/a", Route(b"direct"))
    with Fetcher(settings_for(site)) as fetcher:
        assert fetcher.get(site.url("/a")).body == b"direct"
    assert site.hits["/a"] == 1
    assert canary.total_hits() == 0


# --------------------------------------------------------------------------- conditional GET


def test_conditional_get_with_etag(site: LoopbackSite) -> None:
    site.add("/feed", Route(b"<rss/>", content_type="application/rss+xml"))
    with Fetcher(settings_for(site)) as fetcher:
        first = fetcher.fetch_feed(site.url("/feed"))
        etag = first.header("ETag")
        assert etag
        second = fetcher.fetch_feed(site.url("/feed"), Validators(etag=etag))
    assert (first.status, first.body) == (200, b"<rss/>")
    assert (second.status, second.body) == (304, b"")


def test_conditional_get_sends_both_validators(site: LoopbackSite) -> None:
    stamp = "Wed, 26 Mar 2025 08:00:00 GMT"

    def answer(handler: BaseHTTPRequestHandler) -> Route:
        if handler.headers.get("If-Modified-Since") == stamp:
            return Route(b"", status=304, etag=False)
        return Route(b"<rss/>", headers=(("Last-Modified", stamp),), etag=False)

    log = HeaderLog(answer)
    site.add("/feed", log.route())
    with Fetcher(settings_for(site)) as fetcher:
        first = fetcher.fetch_feed(site.url("/feed"))
        validators = Validators(etag='"v1"', last_modified=first.header("Last-Modified"))
        second = fetcher.fetch_feed(site.url("/feed"), validators)
    assert (first.status, second.status) == (200, 304)
    assert "if-modified-since" not in log.requests[0]
    assert log.requests[1]["if-modified-since"] == stamp
    assert log.requests[1]["if-none-match"] == '"v1"'


# --------------------------------------------------------------------------- Retry-After


def _fetcher_recording_waits(site: LoopbackSite, **overrides: Any) -> tuple[Fetcher, list[float]]:
    waits: list[float] = []
    fetcher = Fetcher(settings_for(site, **overrides), sleep=waits.append, clock=lambda: NOW)
    return fetcher, waits


def _http_date(delta: timedelta) -> str:
    return format_datetime(NOW + delta, usegmt=True)


@pytest.mark.parametrize(
    ("status", "retry_after", "wait"),
    [
        (429, "3", 3.0),
        (503, "7", 7.0),
        (429, "0", 0.0),
        (503, _http_date(timedelta(seconds=4)), 4.0),
        (429, _http_date(-timedelta(hours=1)), 0.0),
    ],
    ids=["429-seconds", "503-seconds", "429-zero", "503-http-date", "429-date-in-past"],
)
def test_retry_after_within_bound_is_waited_for(
    site: LoopbackSite, status: int, retry_after: str, wait: float
) -> None:
    site.add(
        "/busy",
        in_order(
            Route(b"", status=status, headers=(("Retry-After", retry_after),)), Route(b"finally")
        ),
    )
    fetcher, waits = _fetcher_recording_waits(site)
    with fetcher:
        page = fetcher.get(site.url("/busy"))
    assert page.body == b"finally"
    assert waits == [wait]
    assert site.hits["/busy"] == 2


@pytest.mark.parametrize(
    ("status", "retry_after"),
    [(429, "3600"), (503, "11"), (503, _http_date(timedelta(hours=2))), (429, None), (429, "soon")],
    ids=["429-hour", "503-just-beyond", "503-http-date-beyond", "429-no-header", "429-garbage"],
)
def test_retry_after_beyond_bound_is_rate_limited_without_waiting(
    site: LoopbackSite, status: int, retry_after: str | None
) -> None:
    headers = (("Retry-After", retry_after),) if retry_after else ()
    site.add("/busy", Route(b"", status=status, headers=headers))
    fetcher, waits = _fetcher_recording_waits(site)
    with fetcher:
        error = fetch_error(lambda: fetcher.get(site.url("/busy")))
    assert (error.reason, error.status) == ("rate_limited", status)
    assert waits == []
    assert site.hits["/busy"] == 1


def test_retries_are_bounded(site: LoopbackSite) -> None:
    site.add("/busy", Route(b"", status=429, headers=(("Retry-After", "1"),)))
    fetcher, waits = _fetcher_recording_waits(site, max_retries=2)
    with fetcher:
        error = fetch_error(lambda: fetcher.get(site.url("/busy")))
    assert error.reason == "rate_limited"
    assert waits == [1.0, 1.0]
    assert site.hits["/busy"] == 3


def test_503_without_retry_after_is_a_server_error(site: LoopbackSite) -> None:
    site.add("/down", Route(b"", status=503))
    fetcher, waits = _fetcher_recording_waits(site)
    with fetcher:
        error = fetch_error(lambda: fetcher.get(site.url("/down")))
    assert (error.reason, waits) == ("http_5xx", [])


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("Wed, 26 Mar 2025 09:01:00 GMT", 60.0),
        ("Wednesday, 26-Mar-25 09:00:30 GMT", 30.0),
        ("Wed, 26 Mar 2025 08:00:00 GMT", 0.0),
        ("", None),
        (None, None),
        ("-5", None),
        ("1.5", None),
        ("tomorrow", None),
    ],
)
def test_retry_after_seconds(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, NOW) == seconds


# --------------------------------------------------------------------------- robots.txt


ROBOTS = b"User-agent: *\nDisallow: /private/\n\nUser-agent: newswatch\nDisallow: /no-bots/\n"


def _site_with_robots(site: LoopbackSite, robots: Route) -> None:
    site.add("/robots.txt", robots)
    for path in ("/public/1", "/public/2", "/private/1", "/no-bots/1"):
        site.add(path, Route(b"<html><body>article</body></html>"))


def test_robots_rules_are_honoured_for_pages(site: LoopbackSite) -> None:
    _site_with_robots(site, Route(ROBOTS, content_type="text/plain"))
    with Fetcher(settings_for(site)) as fetcher:
        assert fetcher.fetch_page(site.url("/public/1")).status == 200
        assert fetch_error(lambda: fetcher.fetch_page(site.url("/no-bots/1"))).reason == "robots"
        # The group for our product token replaces the "*" group (RFC 9309 2.2.1).
        assert fetcher.fetch_page(site.url("/private/1")).status == 200
    assert site.hits["/no-bots/1"] == 0


def test_robots_star_group_applies_when_no_group_names_us(site: LoopbackSite) -> None:
    _site_with_robots(
        site, Route(b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    )
    with Fetcher(settings_for(site)) as fetcher:
        assert fetch_error(lambda: fetcher.fetch_page(site.url("/private/1"))).reason == "robots"
        assert fetcher.fetch_page(site.url("/public/1")).status == 200
    assert site.hits["/private/1"] == 0


def test_robots_is_fetched_once_per_host(site: LoopbackSite) -> None:
    _site_with_robots(site, Route(ROBOTS, content_type="text/plain"))
    urls = [site.url(f"/public/{i % 2 + 1}") for i in range(10)]
    with Fetcher(settings_for(site)) as fetcher, ThreadPoolExecutor(5) as pool:
        pages = list(pool.map(fetcher.fetch_page, urls))
    assert len(pages) == 10
    assert site.hits["/robots.txt"] == 1


def test_robots_is_cached_per_host_not_globally(site: LoopbackSite) -> None:
    _site_with_robots(site, Route(b"User-agent: *\nDisallow: /\n", content_type="text/plain"))
    with (
        LoopbackSite(
            {"/robots.txt": Route(b"", content_type="text/plain"), "/a": Route(b"ok")}
        ) as other,
        Fetcher(settings_for(site, other)) as fetcher,
    ):
        assert fetch_error(lambda: fetcher.fetch_page(site.url("/public/1"))).reason == "robots"
        assert fetcher.fetch_page(other.url("/a")).body == b"ok"
        assert fetcher.fetch_page(other.url("/a")).body == b"ok"
        assert (site.hits["/robots.txt"], other.hits["/robots.txt"]) == (1, 1)


def test_robots_can_be_turned_off(site: LoopbackSite) -> None:
    _site_with_robots(site, Route(b"User-agent: *\nDisallow: /\n", content_type="text/plain"))
    with Fetcher(settings_for(site)) as fetcher:
        assert fetcher.fetch_page(site.url("/private/1"), check_robots=False).status == 200
    assert site.hits["/robots.txt"] == 0


def test_feeds_do_not_consult_robots(site: LoopbackSite) -> None:
    site.add("/robots.txt", Route(b"User-agent: *\nDisallow: /\n", content_type="text/plain"))
    site.add("/feed", Route(b"<rss/>"))
    with Fetcher(settings_for(site)) as fetcher:
        assert fetcher.fetch_feed(site.url("/feed")).status == 200
    assert site.hits["/robots.txt"] == 0


ROBOTS_STATUS = [
    # (what /robots.txt answers, why a page fails: None = fetched; transient reasons are
    # "unreachable", RFC 9309 2.3.1.4: nothing is fetched, and the page is tried in a later run)
    ("404-allow", Route(b"gone", status=404, content_type="text/plain"), None),
    ("403-allow", Route(b"forbidden", status=403, content_type="text/plain"), None),
    ("empty-allow", Route(b"", content_type="text/plain"), None),
    ("redirect-loop-allow", redirect("/robots.txt"), None),  # RFC 9309 2.3.1.2
    ("redirect-followed", redirect("/robots-moved.txt"), "robots"),
    ("500-deny", Route(b"oops", status=500, content_type="text/plain"), "http_5xx"),
    ("503-deny", Route(b"down", status=503, content_type="text/plain"), "http_5xx"),
    # Rate limiting robots.txt is not "no rules": crawl nothing until it answers.
    ("429-deny", Route(b"slow down", status=429, content_type="text/plain"), "rate_limited"),
    ("timeout-deny", Route(b"", delay=2.0), "timeout"),
]


@pytest.mark.parametrize(
    ("robots", "reason"), [r[1:] for r in ROBOTS_STATUS], ids=[r[0] for r in ROBOTS_STATUS]
)
def test_robots_status_policy(site: LoopbackSite, robots: Route, reason: str | None) -> None:
    _site_with_robots(site, robots)
    site.add("/robots-moved.txt", Route(b"User-agent: *\nDisallow: /\n", content_type="text/plain"))
    fetcher, _ = _fetcher_recording_waits(site, timeout=0.3)
    with fetcher:
        for path in ("/public/1", "/public/2"):
            if reason is None:
                assert fetcher.fetch_page(site.url(path)).status == 200
            else:
                error = fetch_error(lambda p=path: fetcher.fetch_page(site.url(p)))
                assert (error.reason, error.url) == (reason, site.url(path))
                assert is_transient(error.reason) == (reason != "robots")
                assert site.hits[path] == 0
    assert site.hits["/robots.txt"] == 1  # an unreachable robots.txt is not asked again


def test_huge_robots_file_is_parsed_up_to_the_limit(site: LoopbackSite) -> None:
    # RFC 9309 2.5: crawlers may stop parsing at a limit; the rules before it still count.
    body = b"User-agent: *\nDisallow: /private/\n" + b"# padding to make the file large\n" * 100_000
    _site_with_robots(site, Route(body, content_type="text/plain"))
    with Fetcher(settings_for(site)) as fetcher:
        assert fetch_error(lambda: fetcher.fetch_page(site.url("/private/1"))).reason == "robots"
        assert fetcher.fetch_page(site.url("/public/1")).status == 200


def test_robots_on_a_blocked_host_reports_the_address(canary: LoopbackSite) -> None:
    with Fetcher(FetchSettings(timeout=1.0)) as fetcher:
        error = fetch_error(lambda: fetcher.fetch_page(canary.url("/latest/meta-data/")))
    assert error.reason == "blocked_address"
    assert canary.total_hits() == 0


def test_robots_of_a_redirect_target_is_honoured(site: LoopbackSite) -> None:
    with LoopbackSite() as outlet:
        outlet.add(
            "/robots.txt", Route(b"User-agent: *\nDisallow: /secret\n", content_type="text/plain")
        )
        outlet.add("/secret", Route(b"<p>not for crawlers</p>"))
        site.add("/go", Route(status=302, headers=(("Location", outlet.url("/secret")),)))
        with Fetcher(settings_for(site, outlet)) as fetcher, pytest.raises(FetchError) as caught:
            fetcher.fetch_page(site.url("/go"))
        assert caught.value.reason == "robots"
        assert outlet.hits["/secret"] == 0 and outlet.hits["/robots.txt"] == 1
