"""``newswatch web``: serve the read-only API and dashboard. Never imports Prefect."""

from __future__ import annotations

import argparse
import ipaddress

from rich.console import Console

from flows.cli import EXIT_OK, opened


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_web(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch web."""
    import uvicorn

    from pipeline.store.database import display_url
    from pipeline.web.app import create_app

    with opened(args.db) as database:
        app = create_app(database)
        if not _loopback(args.host):
            err.print(
                f"[yellow]warning:[/yellow] listening on {args.host}: anyone who can reach "
                "this address can read the database (read-only, no login)"
            )
        shown = f"[{args.host}]" if ":" in args.host else args.host
        err.print(
            f"newswatch web on http://{shown}:{args.port}/  ·  API schema at "
            f"/api/openapi.json  ·  database {display_url(database.url)}  ·  Ctrl-C stops",
            highlight=False,
        )
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level="warning",
            access_log=args.access_log,
        )
    return EXIT_OK
