"""``newswatch demo``: the collect flow on a bundled sample newsroom served on loopback."""

from __future__ import annotations

import errno
import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flows.loopback import LoopbackSite
from flows.newsroom import load_newsroom, render_site, sources_yaml
from flows.report import print_summary
from pipeline.errors import ConfigError
from pipeline.settings import SEEDS_DIR, Settings, load_settings
from pipeline.store.database import display_url, open_database
from pipeline.store.export import iter_articles

NEWSROOM = SEEDS_DIR / "demo" / "newsroom.yaml"


def _stored_table(settings: Settings, prefix: str) -> Table:
    database = open_database(settings.db_url, check=False)
    table = Table(title="articles stored from the demo newsroom", title_justify="left")
    for column in ("id", "source", "lang", "published (UTC)", "title"):
        table.add_column(column, overflow="fold")
    try:
        for row in iter_articles(database):
            if not row["canonical_url"].startswith(prefix):
                continue
            published = row["published_at"]
            table.add_row(
                str(row["id"]),
                row["source"],
                row["lang"] or "?",
                f"{published:%Y-%m-%d %H:%M}" if published else "-",
                escape(row["title"][:80]),
            )
    finally:
        database.dispose()
    return table


def run_demo(
    settings: Settings,
    *,
    port: int,
    as_json: bool,
    show_progress: bool,
    verbose: bool,
    out: Console,
    err: Console,
) -> int:
    """Serve the newsroom, collect from it, print the summary and the stored articles."""
    from flows.cli import run_collect

    newsroom = load_newsroom(NEWSROOM)
    try:
        site = LoopbackSite(port=port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on 127.0.0.1 is in use; pass --port with a free "
                "port (articles are keyed by URL, so keep using the same one)"
            ) from exc
        raise
    with site:
        site.update(render_site(newsroom, site.base_url).items())
        settings.home.mkdir(parents=True, exist_ok=True)
        sources_path = settings.home / "demo-sources.yaml"
        sources_path.write_text(
            sources_yaml(newsroom, site.base_url, allow_host=f"127.0.0.1:{site.port}"),
            encoding="utf-8",
        )
        err.print(
            f"Sample newsroom: {len(newsroom.articles)} articles from "
            f"{len(newsroom.outlets)} outlets at {site.base_url}/ "
            f"(sources file: {sources_path})",
            highlight=False,
        )
        demo_settings = load_settings(db_url=settings.db_url, sources_path=sources_path)
        summary: dict[str, Any] = run_collect(
            demo_settings, show_progress=show_progress, verbose=verbose, err=err
        )
    if as_json:
        out.print_json(json.dumps(summary, ensure_ascii=False))
        return 0
    print_summary(summary, out)
    out.print(_stored_table(settings, site.base_url))
    out.print(
        f"Database: {display_url(settings.db_url)}  ·  next: `newswatch events --topic pricing "
        "--country CN` (tracked events), `newswatch web` (the dashboard), "
        "`newswatch export --format jsonl`, `newswatch collect` for the real feeds in "
        "seeds/sources.yaml",
        highlight=False,
    )
    return 0
