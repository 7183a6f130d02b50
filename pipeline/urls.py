"""URL normalization: one key per article whatever variant announced it.

Tracking parameters (utm_*, fbclid, gclid, ref ...) are dropped by courlan's rules; we add what
courlan leaves alone: fragments, default ports, case of scheme and host, trailing slashes,
``.``/``..`` segments and percent-encoding variants (``%7e``, ``%7E`` and ``~`` are one URL,
RFC 3986 6.2.2), and only http/https pass.
"""

from __future__ import annotations

import re
import string
from urllib.parse import urljoin, urlsplit, urlunsplit

import courlan

from db.limits import URL_MAX

_SCHEMES = ("http", "https")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")


def resolve(link: str, base: str) -> str:
    """Resolve a possibly relative link against ``base`` (a feed or page URL)."""
    return urljoin(base, link.strip())


def is_http_url(url: str) -> bool:
    """True for absolute http(s) URLs with a host and a valid port (if any)."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises for "host:99999" and "host:http"; later code reads it
    except ValueError:
        return False
    return parts.scheme.lower() in _SCHEMES and bool(parts.hostname)


def normalize(url: str) -> str | None:
    """Canonical form of an http(s) URL, or None when it is not a usable article URL."""
    url = url.strip()
    if not is_http_url(url):
        return None
    try:
        cleaned = courlan.normalize_url(url, strict=False, trailing_slash=True)
        parts = urlsplit(cleaned)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return None
    netloc = host if ":" not in host else f"[{host}]"
    if port and not (scheme == "http" and port == 80) and not (scheme == "https" and port == 443):
        netloc = f"{netloc}:{port}"
    path = _remove_dot_segments(_percent_case(parts.path or "/"))
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    result = urlunsplit((scheme, netloc, path, _percent_case(parts.query), ""))
    # Longer URLs do not fit the database's URL columns (and are not article addresses).
    return result if len(result) <= URL_MAX else None


def _percent_case(text: str) -> str:
    """Decode percent-encoded unreserved characters and upper-case the other escapes."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match[1], 16))
        return char if char in _UNRESERVED else "%" + match[1].upper()

    return _PERCENT.sub(fix, text)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4 for an absolute path: ``/a/./b/../c`` is ``/a/c``."""
    if "." not in path:
        return path
    kept: list[str] = []
    segments = path.split("/")[1:]
    for segment in segments:
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    trailing = "/" if segments and segments[-1] in (".", "..") else ""
    return "/" + "/".join(kept) + trailing


def host_of(url: str) -> str:
    """Lower-case host name of a URL, without a root dot ('' when there is none)."""
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def host_port(url: str) -> str:
    """``host:port`` with the scheme's default port filled in."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = (parts.hostname or "").lower()
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def same_site(url: str, other: str) -> bool:
    """True when two URLs share a host, ignoring a leading ``www.`` or ``m.``."""

    def bare(host: str) -> str:
        for prefix in ("www.", "m.", "mobile."):
            if host.startswith(prefix):
                return host[len(prefix) :]
        return host

    first = bare(host_of(url))
    return bool(first) and first == bare(host_of(other))
