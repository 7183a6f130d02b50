"""``newswatch runs``: recent runs with their counts and failures (no Prefect import)."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flows.cli import EXIT_OK, EXIT_USAGE, opened
from flows.present import print_json


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _duration(row: dict[str, Any]) -> str:
    if row["finished_at"] is None or row["started_at"] is None:
        return "-"
    return f"{(row['finished_at'] - row['started_at']).total_seconds():.1f} s"


def print_runs(runs: list[dict[str, Any]], out: Console) -> None:
    """The run list as a table."""
    if not runs:
        out.print("no runs yet")
        return
    table = Table(title="recent runs", title_justify="left")
    for column in ("id", "kind", "status", "started (UTC)", "duration"):
        table.add_column(column)
    for column in ("sources", "entries", "new", "unchanged", "failed"):
        table.add_column(column, justify="right")
    for row in runs:
        style = {"failed": "red", "running": "yellow"}.get(row["status"])
        table.add_row(
            str(row["id"]),
            row["kind"],
            row["status"],
            _when(row["started_at"]),
            _duration(row),
            str(row["sources"]),
            str(row["entries"]),
            str(row["new_articles"]),
            str(row["unchanged"]),
            str(row["failed"]),
            style=style,
        )
    out.print(table)


def print_run(run: dict[str, Any], out: Console) -> None:
    """One run: its totals, the per-source lines and every failure."""
    totals = ", ".join(f"{k} {v}" for k, v in run["totals"].items())
    out.print(
        f"[bold]{run['kind']} run {run['id']}[/bold]: {run['status']}, started "
        f"{_when(run['started_at'])}, {_duration(run)}; {totals}",
        highlight=False,
    )
    if run["summary"].get("error"):
        out.print(f"[red]error:[/red] {escape(run['summary']['error'])}", highlight=False)
    for report in run["summary"].get("sources", []):
        out.print(
            f"  {escape(report['source'])}: {report['status']}, {report['new']} new, "
            f"{report['failed']} failed",
            highlight=False,
        )
    if run["failures"]:
        table = Table(title=f"{len(run['failures'])} failures", title_justify="left")
        for column in ("stage", "source", "reason", "url", "detail"):
            table.add_column(column, overflow="fold")
        for failure in run["failures"]:
            table.add_row(
                failure["stage"],
                escape(failure["source"]),
                failure["reason"],
                escape(failure["url"]),
                escape(failure["detail"][:200]),
            )
        out.print(table)


def cmd_runs(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch runs."""
    from pipeline.store.runs import recent_runs, run_detail

    with opened(args.db) as database:
        if args.id is not None:
            run = run_detail(database, args.id)
            if run is None:
                err.print(f"[red]error:[/red] no run {args.id}")
                return EXIT_USAGE
            if args.json:
                print_json(run, out)
            else:
                print_run(run, out)
            return EXIT_OK
        runs = recent_runs(database, args.limit, args.kind)
    if args.json:
        print_json(runs, out)
    else:
        print_runs(runs, out)
    return EXIT_OK
