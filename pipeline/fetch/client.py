"""The Fetcher: redirects, limits, timeouts, retries and robots.txt over a guarded client."""

from __future__ import annotations

import email.utils
import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import BinaryIO

import httpx

from pipeline.addresses import AddressPolicy
from pipeline.errors import (
    BlockedSchemeError,
    ConnectError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    RateLimitedError,
    RobotsDeniedError,
    ServerError,
    TooLargeError,
    TooManyRedirectsError,
    TransientFetchError,
    UnsupportedContentError,
)
from pipeline.fetch.body import ACCEPT_ENCODING, BoundedDecoder, content_encoding
from pipeline.fetch.transport import GuardedTransport
from pipeline.fetch_settings import FetchSettings
from pipeline.records import Page, Validators
from pipeline.robots import MAX_ROBOTS_BYTES, RobotsRules, rules_for_status
from pipeline.urls import host_port, is_http_url

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Content types we never download as pages: they cannot hold an article's text.
_UNSUPPORTED_PREFIXES = (
    "application/pdf",
    "image/",
    "video/",
    "audio/",
    "application/zip",
    "application/octet-stream",
    "font/",
)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class Fetcher:
    """A polite, guarded HTTP client; use as a context manager."""

    def __init__(
        self,
        settings: FetchSettings,
        *,
        policy: AddressPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self._policy = policy or AddressPolicy.from_hosts(settings.allow_hosts)
        self._sleep = sleep
        self._clock = clock
        limits = httpx.Limits(
            max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
        )
        self._client = httpx.Client(
            transport=GuardedTransport(self._policy, limits),
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            follow_redirects=False,
            trust_env=False,
        )
        self._all = threading.BoundedSemaphore(settings.concurrency)
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._robots: dict[str, RobotsRules | FetchError] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    @contextmanager
    def _slot(self, url: str) -> Iterator[None]:
        key = host_port(url)
        with self._lock:
            host = self._hosts.setdefault(
                key, threading.BoundedSemaphore(self.settings.per_host_concurrency)
            )
        with host, self._all:
            yield

    def fetch_feed(self, url: str, validators: Validators | None = None) -> Page:
        """GET a feed with conditional headers; a 304 comes back as a Page with status 304."""
        headers = {"Accept": FEED_ACCEPT}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        return self.get(url, headers=headers)

    def fetch_page(self, url: str, *, check_robots: bool = True) -> Page:
        """GET an article page, honouring robots.txt (of every redirect hop) unless told not to."""
        return self.get(url, headers={"Accept": PAGE_ACCEPT}, page=True, robots=check_robots)

    def get(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        page: bool = False,
        max_bytes: int | None = None,
        truncate: bool = False,
        robots: bool = False,
        sink: BinaryIO | None = None,
        timeout: float | None = None,
    ) -> Page:
        """GET ``url`` with redirects, retries on 429/503 and every guard; raise FetchError.

        With ``robots``, each hop's robots.txt must allow it: a redirect from an aggregator
        to an outlet is subject to the outlet's rules.

        A body above ``max_bytes`` (default ``max_page_bytes``) raises TooLargeError, or with
        ``truncate`` ends the download and keeps the first ``max_bytes`` bytes.

        With ``sink``, the body is written there instead of kept (the Page's body is empty);
        ``timeout`` replaces the settings' total timeout (large archive files need longer).
        """
        attempt = 0
        while True:
            try:
                return self._get_once(
                    url, headers or {}, page, max_bytes, truncate, robots, sink, timeout
                )
            except _RetryAfter as wait:
                attempt += 1
                if attempt > self.settings.max_retries:
                    raise RateLimitedError(
                        f"HTTP {wait.status}: still refused after {attempt - 1} retries",
                        url=url,
                        status=wait.status,
                    ) from None
                log.info(
                    "retry after wait url=%s status=%s wait_s=%.1f", url, wait.status, wait.seconds
                )
                self._sleep(wait.seconds)

    def _get_once(
        self,
        url: str,
        headers: dict[str, str],
        page: bool,
        max_bytes: int | None,
        truncate: bool,
        robots: bool,
        sink: BinaryIO | None = None,
        total: float | None = None,
    ) -> Page:
        settings = self.settings
        total = total or settings.timeout
        deadline = time.monotonic() + total
        current = url
        visited: set[str] = set()
        for _hop in range(settings.max_redirects + 1):
            if not is_http_url(current):
                raise BlockedSchemeError(
                    f"only http and https URLs are fetched: {current[:200]}", url=url
                )
            if current in visited:
                raise TooManyRedirectsError(f"redirect loop at {current}", url=url)
            visited.add(current)
            if robots:
                self._check_robots(current)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchTimeoutError(f"total timeout of {total:g} s exceeded", url=url)
            timeout = httpx.Timeout(remaining, connect=min(settings.connect_timeout, remaining))
            with self._slot(current):
                response = self._send(url, current, headers, timeout)
                try:
                    status = response.status_code
                    if status in _REDIRECTS:
                        location = response.headers.get("Location")
                        if not location:
                            raise HTTPStatusError(
                                f"HTTP {status} without Location", url=url, status=status
                            )
                        current = str(response.url.join(location))
                        continue
                    return self._finish(
                        url,
                        response,
                        page=page,
                        max_bytes=max_bytes,
                        truncate=truncate,
                        deadline=deadline,
                        sink=sink,
                    )
                finally:
                    response.close()
        raise TooManyRedirectsError(f"more than {settings.max_redirects} redirects", url=url)

    def _send(
        self, url: str, current: str, headers: dict[str, str], timeout: httpx.Timeout
    ) -> httpx.Response:
        try:
            request = self._client.build_request("GET", current, headers=headers, timeout=timeout)
            return self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise FetchTimeoutError(f"timeout: {exc.__class__.__name__}", url=url) from exc
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise BlockedSchemeError(f"unusable URL: {exc}", url=url) from exc
        except httpx.HTTPError as exc:
            raise ConnectError(f"{exc.__class__.__name__}: {exc}", url=url) from exc
        except FetchError as exc:
            # Raised by the address policy deep in the socket layer, which has no URL to give.
            exc.url = exc.url or url
            raise

    def _finish(
        self,
        url: str,
        response: httpx.Response,
        *,
        page: bool,
        max_bytes: int | None,
        truncate: bool,
        deadline: float,
        sink: BinaryIO | None = None,
    ) -> Page:
        status = response.status_code
        if status in (429, 503):
            wait = retry_after_seconds(response.headers.get("Retry-After"), self._clock())
            if wait is not None and wait <= self.settings.retry_after_max:
                raise _RetryAfter(status, wait)
            if status == 429 or wait is not None:
                raise RateLimitedError(
                    f"HTTP {status}, Retry-After {response.headers.get('Retry-After')!r} "
                    f"beyond {self.settings.retry_after_max:g} s",
                    url=url,
                    status=status,
                )
        if status >= 500:
            raise ServerError(f"HTTP {status}", url=url, status=status)
        if status >= 400:
            raise HTTPStatusError(f"HTTP {status}", url=url, status=status)
        headers = tuple((k, v) for k, v in response.headers.multi_items())
        final = str(response.url)
        if status == 304:
            return Page(url, final, status, headers, b"", self._clock())
        if page:
            ctype = response.headers.get("Content-Type", "").lower()
            if ctype.startswith(_UNSUPPORTED_PREFIXES):
                raise UnsupportedContentError(
                    f"content type {ctype.split(';')[0]}", url=url, status=status
                )
        body = self._read_capped(
            url, response, max_bytes or self.settings.max_page_bytes, truncate, deadline, sink
        )
        return Page(url, final, status, headers, body, self._clock())

    def _read_capped(
        self,
        url: str,
        response: httpx.Response,
        cap: int,
        truncate: bool,
        deadline: float,
        sink: BinaryIO | None = None,
    ) -> bytes:
        decoder = BoundedDecoder(content_encoding(url, response))
        declared = response.headers.get("Content-Length", "")
        if not truncate and declared.isdigit() and int(declared) > cap:
            raise TooLargeError(f"Content-Length {declared} above cap of {cap} bytes", url=url)
        chunks: list[bytes] = []
        size = 0

        def keep(piece: bytes) -> bool:
            """Add a decoded piece; False once the cap is reached and truncating."""
            nonlocal size
            if size + len(piece) > cap:
                if not truncate:
                    raise TooLargeError(f"body above cap of {cap} bytes", url=url)
                chunks.append(piece[: cap - size])
                size = cap
                return False
            size += len(piece)
            if sink is not None:
                sink.write(piece)
            else:
                chunks.append(piece)
            return True

        try:
            for raw in response.iter_raw():
                for piece in decoder.pieces(raw):
                    if not keep(piece):
                        return b"".join(chunks)
                if time.monotonic() > deadline:
                    raise FetchTimeoutError("total timeout exceeded while reading", url=url)
            keep(decoder.rest())
        except httpx.TimeoutException as exc:
            raise FetchTimeoutError(
                f"timeout while reading: {exc.__class__.__name__}", url=url
            ) from exc
        except httpx.HTTPError as exc:
            raise ConnectError(f"{exc.__class__.__name__} while reading: {exc}", url=url) from exc
        except zlib.error as exc:
            raise ConnectError(f"corrupt compressed body: {exc}", url=url) from exc
        return b"".join(chunks)

    def robots_rules(self, url: str) -> RobotsRules:
        """The robots.txt rules for the host of ``url`` (fetched once per fetcher)."""
        known = self._robots_for(url)
        return RobotsRules(deny_all=True) if isinstance(known, FetchError) else known

    def _robots_for(self, url: str) -> RobotsRules | FetchError:
        """Cached rules, or the transient error that made robots.txt unreachable."""
        key = host_port(url)
        with self._lock:
            lock = self._robots_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._robots:
                self._robots[key] = self._fetch_robots(url)
            return self._robots[key]

    def _fetch_robots(self, url: str) -> RobotsRules | FetchError:
        robots_url = str(httpx.URL(url).copy_with(path="/robots.txt", query=None, fragment=None))
        try:
            # RFC 9309 2.5: parse at least 500 KiB and ignore the rest; a huge file is no
            # reason to drop the rules at its top.
            got = self.get(
                robots_url,
                headers={"Accept": "text/plain"},
                max_bytes=MAX_ROBOTS_BYTES,
                truncate=True,
            )
        except TransientFetchError as exc:
            # Unreachable (5xx, timeout, refused) means "assume complete disallow" (RFC 9309
            # 2.3.1.4). 429 is treated the same way, as major crawlers do: a host asking us to
            # slow down has not said "no rules". Kept as the error so pages fail as transient.
            return exc
        except (HTTPStatusError, TooManyRedirectsError):
            return RobotsRules(allow_all=True)  # "unavailable" (RFC 9309 2.3.1.2 and 2.3.1.3)
        except FetchError as exc:
            # A blocked address is not a robots problem and is reported by the page fetch.
            if exc.reason == "blocked_address":
                raise
            return RobotsRules(deny_all=True)
        body = got.body
        if len(body) >= MAX_ROBOTS_BYTES:
            body = body[: body.rfind(b"\n") + 1]  # a line cut in half could widen an Allow
        return rules_for_status(got.status, body)

    def _check_robots(self, url: str) -> None:
        known = self._robots_for(url)
        if isinstance(known, FetchError):
            raise type(known)(
                f"robots.txt unreachable, page not fetched: {known}", url=url, status=known.status
            )
        if not known.allows(url, self.settings.user_agent):
            raise RobotsDeniedError("disallowed by robots.txt", url=url)


class _RetryAfter(Exception):
    def __init__(self, status: int, seconds: float) -> None:
        super().__init__(f"HTTP {status}, retry after {seconds:g} s")
        self.status = status
        self.seconds = seconds
