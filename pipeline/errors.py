"""The one error hierarchy of newswatch.

Foreign exceptions (httpx, feedparser, lxml, SQLAlchemy, YAML) are translated once, at the
edge that calls them, with ``raise ... from exc``. Per-item problems become
:class:`~pipeline.records.Failure` values whose ``reason`` is the ``reason`` attribute of
the class below; only systemic problems (bad configuration, unreachable database) stop a run.

    NewswatchError
    ├── ConfigError              bad sources/settings file or environment (names file and line)
    ├── ServiceError             a service newswatch starts itself (local Prefect server) failed
    ├── DatabaseError            the database cannot be reached or is not at the expected revision
    │   └── SchemaOutOfDateError the database exists but needs ``newswatch db upgrade``
    ├── FetchError               a URL could not be fetched
    │   ├── TransientFetchError  worth retrying later
    │   │   ├── FetchTimeoutError      connect or total timeout
    │   │   ├── ConnectError           refused, reset, DNS failure
    │   │   ├── ServerError            HTTP 5xx
    │   │   └── RateLimitedError       HTTP 429/503 whose Retry-After exceeds our bound
    │   ├── HTTPStatusError      HTTP 4xx (not 429)
    │   ├── BlockedAddressError  private, loopback, link-local, metadata ... address
    │   ├── BlockedSchemeError   not http or https (file:, javascript:, ftp: ...)
    │   ├── TooLargeError        body above the configured cap
    │   ├── TooManyRedirectsError  more than the allowed hops, or a loop
    │   ├── RobotsDeniedError    robots.txt disallows the page
    │   └── UnsupportedContentError  not HTML or not a feed (a PDF, an image ...)
    ├── FeedError                fetched bytes are not a usable feed (no entries)
    └── ExtractError             a page yields no main text
        ├── ExtractTimeoutError  extraction ran past its time limit (hostile markup)
        └── ExtractCrashError    the extraction worker died (worth retrying later)
"""

from __future__ import annotations


class NewswatchError(Exception):
    """Base of every error raised by newswatch."""

    reason = "error"


class ConfigError(NewswatchError):
    """Configuration is invalid; the message names the file and line when there is one."""

    reason = "config"

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = path or ""
        if path and line:
            where = f"{path}:{line}"
        super().__init__(f"{where}: {message}" if where else message)


class ServiceError(NewswatchError):
    """A service newswatch starts for itself (the local Prefect server) failed to start."""

    reason = "service"


class DatabaseError(NewswatchError):
    """The database cannot be reached or used."""

    reason = "database"


class SchemaOutOfDateError(DatabaseError):
    """The database schema is not at the revision this code needs."""

    reason = "schema"


class FetchError(NewswatchError):
    """A URL could not be fetched."""

    reason = "fetch"

    def __init__(self, message: str, *, url: str = "", status: int | None = None) -> None:
        self.url = url
        self.status = status
        super().__init__(message)


class TransientFetchError(FetchError):
    """A fetch failure that may succeed later."""

    reason = "transient"


class FetchTimeoutError(TransientFetchError):
    """Connect or total timeout exceeded."""

    reason = "timeout"


class ConnectError(TransientFetchError):
    """Connection refused or reset, or the name did not resolve."""

    reason = "connect"


class ServerError(TransientFetchError):
    """The server answered with a 5xx status."""

    reason = "http_5xx"


class RateLimitedError(TransientFetchError):
    """429/503 with a Retry-After beyond the configured bound, or retries exhausted."""

    reason = "rate_limited"


class HTTPStatusError(FetchError):
    """The server answered with a 4xx status (other than 429)."""

    reason = "http_4xx"


class BlockedAddressError(FetchError):
    """The host is, or resolves to, an address we refuse to contact."""

    reason = "blocked_address"


class BlockedSchemeError(FetchError):
    """The URL scheme is not http or https."""

    reason = "blocked_scheme"


class TooLargeError(FetchError):
    """The body exceeds the configured maximum size."""

    reason = "too_large"


class TooManyRedirectsError(FetchError):
    """Too many redirect hops, or a redirect loop."""

    reason = "redirects"


class RobotsDeniedError(FetchError):
    """robots.txt disallows fetching the URL."""

    reason = "robots"


class UnsupportedContentError(FetchError):
    """The response is not a type we can process (for example a PDF)."""

    reason = "unsupported_content"


class FeedError(NewswatchError):
    """Fetched bytes are not a usable feed."""

    reason = "feed"


class ExtractError(NewswatchError):
    """A page yields no usable main text."""

    reason = "no_text"


class ExtractTimeoutError(ExtractError):
    """Extraction of one page ran past its time limit."""

    reason = "extract_timeout"


class ExtractCrashError(ExtractError):
    """The process extracting the page died (out of memory, killed, a crash in C code)."""

    reason = "extract_crash"


def _transient_reasons() -> frozenset[str]:
    roots: list[type[NewswatchError]] = [TransientFetchError, ExtractCrashError]
    found = {root.reason for root in roots}
    stack = list(roots)
    while stack:
        for sub in stack.pop().__subclasses__():
            found.add(sub.reason)
            stack.append(sub)
    return frozenset(found)


TRANSIENT_REASONS = _transient_reasons()


def is_transient(reason: str) -> bool:
    """True when a failure with this reason is worth trying again in a later run."""
    return reason in TRANSIENT_REASONS
