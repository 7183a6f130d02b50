"""A small HTTP server on 127.0.0.1 serving an in-memory site.

Used by ``newswatch demo`` (the sample newsroom), by the tests (feeds and pages with every kind
of misbehaviour) and by the benchmarks. Routes are data: a path maps to a :class:`Route`.
Responses carry an ETag and honour ``If-None-Match``, so conditional GET works as on a real site.
Every request is counted per path, which lets tests prove that a URL was never contacted.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Route:
    """What one path answers."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # seconds before the status line
    trickle: float = 0.0  # seconds between 1 KiB chunks of the body
    repeat: int = 1  # the body is sent this many times (large bodies without large memory)
    chunked: bool = False  # no Content-Length: Transfer-Encoding chunked, as streaming servers do
    etag: bool = True
    dynamic: Callable[[BaseHTTPRequestHandler], Route] | None = field(default=None, compare=False)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the body waits for the
    # client's delayed ACK (~40 ms per response on Linux loopback for mid-sized pages).
    disable_nagle_algorithm = True
    error_content_type = "text/plain"

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: tests and the demo print their own output."""

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_GET(self) -> None:
        self._answer(head=False)

    def _answer(self, head: bool) -> None:
        site = self.server.site
        path = self.path.split("#", 1)[0]
        with site.lock:
            site.hits[path] += 1
        route = site.routes.get(path) or site.routes.get(path.split("?", 1)[0])
        if route is None:
            route = Route(b"not found", status=404, content_type="text/plain")
        if route.dynamic is not None:
            route = route.dynamic(self)
        if route.delay:
            time.sleep(route.delay)
        tag = '"' + hashlib.sha1(route.body, usedforsecurity=False).hexdigest()[:16] + '"'
        if route.etag and route.status == 200 and self.headers.get("If-None-Match") == tag:
            self.send_response(304)
            self.send_header("ETag", tag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(route.status)
        if route.content_type:
            self.send_header("Content-Type", route.content_type)
        if route.etag and route.status == 200:
            self.send_header("ETag", tag)
        for key, value in route.headers:
            self.send_header(key, value)
        if route.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(route.body) * route.repeat))
        self.end_headers()
        if head:
            return
        try:
            for _ in range(route.repeat):
                if route.trickle:
                    for start in range(0, len(route.body), 1024):
                        self._write(route.body[start : start + 1024], route.chunked)
                        self.wfile.flush()
                        time.sleep(route.trickle)
                else:
                    self._write(route.body, route.chunked)
            if route.chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (size cap, timeout): that is what some tests want

    def _write(self, data: bytes, chunked: bool) -> None:
        if not chunked:
            self.wfile.write(data)
        elif data:  # an empty chunk would end the body early
            self.wfile.write(b"%x\r\n" % len(data))
            self.wfile.write(data)
            self.wfile.write(b"\r\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    site: LoopbackSite

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that hang up early are expected (size caps, timeouts); stay quiet."""


class LoopbackSite:
    """An in-memory site served on a loopback address; a context manager."""

    def __init__(
        self, routes: dict[str, Route] | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self._server = _Server((host, port), _Handler)
        self._server.site = self
        # A short poll interval: shutdown() waits for it, and tests start many sites.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True, name=f"loopback-{host}"
        )
        self._started = False

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the site."""
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this site."""
        return self.base_url + path

    def add(self, path: str, route: Route) -> None:
        """Serve ``route`` at ``path``."""
        self.routes[path] = route

    def update(self, routes: Iterable[tuple[str, Route]]) -> None:
        """Serve several routes."""
        for path, route in routes:
            self.add(path, route)

    def total_hits(self) -> int:
        """Requests received on any path."""
        with self.lock:
            return sum(self.hits.values())

    def start(self) -> LoopbackSite:
        """Start serving in a background thread."""
        if not self._started:
            self._thread.start()
            self._started = True
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._started:
            self._server.shutdown()
            self._started = False
        self._server.server_close()

    def __enter__(self) -> LoopbackSite:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
