"""Run summaries for people: a terminal table and rows for the Prefect artifact.

Both work on the JSON form of a summary (``pipeline.store.runs.summary_json``), the same data
that is stored with the run and printed by ``--json``.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

COLUMNS = ("entries", "new", "unchanged", "failed", "skipped")


def _reason(report: dict[str, Any]) -> str:
    parts = list(report.get("reasons", ())) + [f"warning: {w}" for w in report.get("warnings", ())]
    return "; ".join(parts)[:200]


def artifact_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per source plus a total row, for ``create_table_artifact``."""
    rows: list[dict[str, Any]] = [
        {
            "source": r["source"],
            "status": r["status"],
            **{c: r[c] for c in COLUMNS},
            "reason": _reason(r),
        }
        for r in summary["sources"]
    ]
    rows.append(
        {
            "source": "TOTAL",
            "status": f"{summary['duration_s']:.1f} s",
            **{c: summary["totals"][c] for c in COLUMNS},
            "reason": "",
        }
    )
    return rows


def print_summary(summary: dict[str, Any], console: Console) -> None:
    """Print the per-source table with totals and duration."""
    kind = "backfill" if "backfill" in summary else "collect"
    table = Table(
        title=f"{kind} run {summary['run_id']}: {summary['duration_s']:.1f} s",
        title_justify="left",
    )
    table.add_column("source")
    table.add_column("status")
    for column in COLUMNS:
        table.add_column(column, justify="right")
    table.add_column("reason", overflow="fold", max_width=70)
    for row in artifact_rows(summary):
        style = "bold" if row["source"] == "TOTAL" else None
        table.add_row(
            escape(str(row["source"])),
            str(row["status"]),
            *(str(row[c]) for c in COLUMNS),
            escape(str(row["reason"])),
            style=style,
        )
    console.print(table)
    done = summary.get("clustering") or {}
    if any(done.values()):
        console.print(
            f"clustering: {done.get('copies', 0)} copies of stored articles, "
            f"{done.get('stories_opened', 0)} new stories, "
            f"{done.get('stories_joined', 0)} articles joined a story",
            highlight=False,
        )
    labelled = summary.get("classification") or {}
    if any(labelled.values()):
        console.print(
            f"classification: {labelled.get('articles', 0)} articles labelled, "
            f"{labelled.get('relevant', 0)} relevant; tracked events: "
            f"{labelled.get('events_new', 0)} new, {labelled.get('events_changed', 0)} changed",
            highlight=False,
        )
    window = summary.get("backfill")
    if window:
        console.print(
            f"backfill {window['start']}..{window['end']}: {window['done_now']} source-days "
            f"done now, {window['already_done']} done before, of {window['source_days']}",
            highlight=False,
        )
        if window.get("incomplete"):
            console.print(
                "[yellow]not recorded as done (a page or sitemap is to be retried; run the "
                f"same backfill again):[/yellow] {escape(', '.join(window['incomplete']))}",
                highlight=False,
            )
