"""``newswatch web``: serve the read-only API and dashboard. Never imports Prefect."""

from __future__ import annotations

import argparse
import gc
import ipaddress
import signal
import socket

from rich.console import Console

from flows.cli import EXIT_OK, opened
from pipeline.errors import ConfigError


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (port 0 picks a free one); a clear error when taken."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)  # connections made once the address is printed wait for the server
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}") from exc
    return sock


def cmd_web(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch web."""
    import uvicorn

    from pipeline.store.database import display_url
    from pipeline.web.app import create_app

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port} is not a TCP port (0 to 65535)")
    with opened(args.db) as database:
        app = create_app(database)
        sock = listen(args.host, args.port)
        port = sock.getsockname()[1]
        if not _loopback(args.host):
            err.print(
                f"[yellow]warning:[/yellow] listening on {args.host}: anyone who can reach "
                "this address can read the database (read-only, no login)"
            )
        shown = f"[{args.host}]" if ":" in args.host else args.host
        err.print(
            f"newswatch web on http://{shown}:{port}/  ·  API schema at "
            f"/api/openapi.json  ·  database {display_url(database.url)}  ·  Ctrl-C stops",
            highlight=False,
            soft_wrap=True,
        )
        config = uvicorn.Config(app, log_level="warning", access_log=args.access_log)
        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again with
        # the handlers it found: make both a quiet, successful stop.
        previous = signal.signal(signal.SIGTERM, _stop)
        # Everything loaded so far lives as long as the server: keep it out of the cyclic
        # collector, whose full passes over it cost 50-70 ms of a request's time.
        gc.freeze()
        try:
            with sock:
                uvicorn.Server(config).run(sockets=[sock])
        except (KeyboardInterrupt, _Stopped):
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
    err.print("newswatch web stopped")
    return EXIT_OK


class _Stopped(Exception):
    """SIGTERM after uvicorn's graceful shutdown."""


def _stop(_signum: int, _frame: object) -> None:
    raise _Stopped
