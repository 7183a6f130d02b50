"""``newswatch search TEXT``: full-text search over stored articles. Never imports Prefect."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flows.cli import EXIT_OK, opened
from flows.present import print_json


def cmd_search(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch search."""
    from pipeline.store.search import search_articles

    with opened(args.db) as database:
        page = search_articles(
            database, args.text, lang=args.lang, since=args.since, limit=args.limit
        )
    if not page.phrases:
        err.print(f"[yellow]nothing to search for in {args.text!r}[/yellow] (no letters)")
    if args.json:
        print_json(page.items, out)
        return EXIT_OK
    more = " (more: raise --limit)" if page.has_more else ""
    table = Table(
        title=f"{len(page.items)} articles matching {args.text!r}, best first{more}",
        title_justify="left",
    )
    for column in ("id", "published", "source", "lang", "event", "title / snippet"):
        table.add_column(column, overflow="fold")
    for item in page.items:
        when = item["published_at"] or item["fetched_at"]
        table.add_row(
            str(item["id"]),
            f"{when:%Y-%m-%d}",
            escape(item["source"]),
            item["lang"] or "?",
            str(item["story_id"] or "-"),
            f"[bold]{escape(item['title'])}[/bold]\n{escape(item['snippet'])}",
        )
    out.print(table)
    return EXIT_OK
