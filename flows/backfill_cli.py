"""``newswatch backfill``: validate, then run the backfill flow in this process."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console

from flows.cli import EXIT_OK, announce_prefect, quiet_prefect
from pipeline.settings import load_settings


def cmd_backfill(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch backfill."""
    from flows.report import print_summary
    from pipeline.sources import load_sources
    from pipeline.store.database import open_database

    settings = load_settings(db_url=args.db, sources_path=args.sources)
    # Fail fast (exit 2 or 3) before Prefect starts: the range, the file, the names, the DB.
    from flows.backfill import history_sources, parse_window

    parse_window(args.start, args.end)
    history_sources(load_sources(settings.sources_path), args.source)
    open_database(settings.db_url, upgrade=settings.auto_upgrade).dispose()
    quiet_prefect(args.verbose)
    announce_prefect(err)
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.backfill import backfill

    # As for collect: no runner watches a run started here, so no heartbeat thread.
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        summary: dict[str, Any] = backfill(
            start=args.start.isoformat(),
            end=args.end.isoformat(),
            sources=str(settings.sources_path),
            source=args.source,
            db=settings.db_url,
            show_progress=not args.no_progress and err.is_terminal,
        )
    if args.json:
        out.print_json(json.dumps(summary, ensure_ascii=False))
    else:
        print_summary(summary, out)
    return EXIT_OK
