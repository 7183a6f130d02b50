"""URL normalization: one key per article whatever variant announced it.

Tracking parameters (utm_*, fbclid, gclid, ref ...) are dropped by courlan's rules; we add what
courlan leaves alone: fragments, default ports, case of scheme and host, trailing slashes, and
only http/https pass.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit, urlunsplit

import courlan

_SCHEMES = ("http", "https")


def resolve(link: str, base: str) -> str:
    """Resolve a possibly relative link against ``base`` (a feed or page URL)."""
    return urljoin(base, link.strip())


def is_http_url(url: str) -> bool:
    """True for absolute http(s) URLs with a host."""
    try:
        parts = urlsplit(url)
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
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def host_of(url: str) -> str:
    """Lower-case host name of a URL ('' when there is none)."""
    try:
        return (urlsplit(url).hostname or "").lower()
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
                return host[len(prefix):]
        return host

    first, second = host_of(url), host_of(other)
    return bool(first) and bare(first) == bare(second)
