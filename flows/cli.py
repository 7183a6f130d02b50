"""The ``newswatch`` command: a thin layer over the functions the flows call.

Exit codes: 0 the command finished (a collect run with per-source or per-page failures included;
they are listed in the summary); 2 bad usage or configuration (the message names file and line);
3 the database cannot be reached or is not at the schema this version needs.

Commands that only read the database never import Prefect (its import alone costs about 1 s).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from pipeline.errors import ConfigError, DatabaseError, NewswatchError
from pipeline.settings import Settings, load_settings

if TYPE_CHECKING:
    from pipeline.store.database import Database

EXIT_OK, EXIT_USAGE, EXIT_DATABASE = 0, 2, 3


def _since(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not an ISO date or datetime: {value!r} (e.g. 2025-03-01 or 2025-03-01T09:00+09:00)"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _until(value: str) -> datetime:
    """Like ``_since``, but a bare date means the end of that day: "until 2025-03-31"
    includes March 31."""
    parsed = _since(value)
    if len(value.strip()) == 10:  # YYYY-MM-DD
        return parsed.replace(hour=23, minute=59, second=59, microsecond=999999)
    return parsed


def _country(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise argparse.ArgumentTypeError(f"not a two-letter country code: {value!r} (e.g. CN)")
    return code


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to render --help)."""
    parser = argparse.ArgumentParser(
        prog="newswatch",
        description="Collect AI-industry news from feeds into a database you can query.",
        epilog="Environment: NEWSWATCH_DB (database URL), NEWSWATCH_HOME (data folder), "
        "NEWSWATCH_SOURCES (sources file), PREFECT_API_URL (use a Prefect server). "
        "Exit codes: 0 done, 2 bad usage or config, 3 database unreachable.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def db_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--db",
            metavar="URL",
            help="database URL, e.g. sqlite:///news.db or "
            "postgresql+psycopg://user@host/db (default: $NEWSWATCH_DB, "
            "else a SQLite file in the data folder; see `newswatch info`)",
        )

    def sources_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--sources",
            metavar="PATH",
            help="sources file (default: $NEWSWATCH_SOURCES, else seeds/sources.yaml)",
        )

    def run_options(sub: argparse.ArgumentParser, *, progress: bool = True) -> None:
        """Options of the commands that run a flow in this process."""
        if progress:
            sub.add_argument("--json", action="store_true", help="print the run summary as JSON")
            sub.add_argument("--no-progress", action="store_true", help="no progress bar")
        sub.add_argument(
            "--verbose", "-v", action="store_true", help="show Prefect's own log lines"
        )

    collect = commands.add_parser(
        "collect",
        help="poll the sources and store new articles",
        description="Poll every source in the sources file, fetch "
        "and extract new pages, store the articles, print a summary.",
    )
    sources_option(collect)
    db_option(collect)
    run_options(collect)

    export = commands.add_parser(
        "export",
        help="write stored articles as JSON lines or CSV",
        description="Write one record per stored article; field names "
        "are stable (see README, 'Export').",
    )
    export.add_argument(
        "--format", choices=("jsonl", "csv"), default="jsonl", help="output format (default: jsonl)"
    )
    export.add_argument(
        "--since",
        type=_since,
        metavar="DATE",
        help="only articles published (or fetched, when undated) at or after "
        "DATE; ISO 8601, UTC unless a zone is given",
    )
    export.add_argument("--output", "-o", metavar="PATH", help="write to PATH instead of stdout")
    db_option(export)

    dbc = commands.add_parser("db", help="database maintenance")
    db_commands = dbc.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser(
        "upgrade",
        help="create or upgrade the schema to the latest revision (needed once for PostgreSQL)",
    )
    db_option(upgrade)

    stories = commands.add_parser(
        "stories",
        help="list stories: articles about one happening, across outlets and languages",
        description="List stories, latest activity first, with article, source and language "
        "counts.",
    )
    stories.add_argument(
        "--since",
        type=_since,
        metavar="DATE",
        help="only stories with an article at or after DATE (ISO 8601)",
    )
    stories.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    stories.add_argument("--json", action="store_true", help="print as JSON")
    db_option(stories)

    show = commands.add_parser(
        "show",
        help="explain one article: is it a copy, of what, and which story it belongs to",
        description="Show an article with its copy decision (method and similarity) and its "
        "story (the evidence it joined on, the other articles).",
    )
    show.add_argument("article", metavar="ARTICLE", help="article id or URL")
    show.add_argument("--json", action="store_true", help="print as JSON")
    db_option(show)

    recluster = commands.add_parser(
        "recluster",
        help="recompute copies and stories from stored articles",
        description="Forget the copy and story decisions of articles published since DATE "
        "(all articles without --since), and of the stories they are in, then decide again "
        "with the current thresholds and alias table. Idempotent: the same articles give the "
        "same copies and story ids.",
    )
    recluster.add_argument(
        "--since",
        type=_since,
        metavar="DATE",
        help="only articles published at or after DATE (ISO 8601)",
    )
    recluster.add_argument("--json", action="store_true", help="print the counts as JSON")
    db_option(recluster)

    reclassify = commands.add_parser(
        "reclassify",
        help="label stored articles again and rebuild tracked events (after seeds/*.yaml change)",
        description="Forget the topics, entities, amounts and relevance of articles published "
        "since DATE (all without --since), label them again with the current seeds/topics.yaml, "
        "entities.yaml and rates.yaml, and rebuild the tracked events. No page is fetched. "
        "Idempotent.",
    )
    reclassify.add_argument(
        "--since",
        type=_since,
        metavar="DATE",
        help="only articles published at or after DATE (ISO 8601)",
    )
    reclassify.add_argument("--json", action="store_true", help="print the counts as JSON")
    db_option(reclassify)

    entities = commands.add_parser(
        "entities",
        help="list model names the alias table does not know yet",
        description='With --unknown: names shaped like AI model names ("Step-2", "어니X1", '
        '"混元T1") found in stored articles but not in seeds/entities.yaml, most frequent '
        "first, to add as aliases.",
    )
    entities.add_argument(
        "--unknown",
        action="store_true",
        required=True,
        help="list unknown names (the only listing for now)",
    )
    entities.add_argument(
        "--since",
        type=_since,
        metavar="DATE",
        help="only articles published at or after DATE (ISO 8601)",
    )
    entities.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    entities.add_argument("--json", action="store_true", help="print as JSON")
    db_option(entities)

    info = commands.add_parser("info", help="show where data lives and what it holds")
    db_option(info)
    info.add_argument("--json", action="store_true", help="print as JSON")

    demo = commands.add_parser(
        "demo",
        help="collect from a bundled sample newsroom, offline",
        description="Serve a small sample newsroom (Korean, English and "
        "Chinese outlets; RSS, Atom and an EUC-KR feed) on 127.0.0.1, run "
        "the collect flow on it into the database, and print what was "
        "stored.",
    )
    demo.add_argument(
        "--port",
        type=int,
        default=8765,
        help="port for the newsroom on 127.0.0.1 (default: 8765; 0 = any free)",
    )
    db_option(demo)
    run_options(demo)

    backfill = commands.add_parser(
        "backfill",
        help="collect the history of a date range from sitemaps, web archives and feed archives",
        description="Read the history sources of the sources file (kind: sitemap, warc, and "
        "feeds with RFC 5005 archives) for every day from --start to --end (inclusive, UTC), "
        "fetch and extract the pages published on those days, and store them with the same "
        "dedup and classification as collect. Each finished day of each source is recorded: "
        "running the same backfill again, or after a crash, resumes where it stopped.",
    )
    backfill.add_argument("--start", type=_day, required=True, metavar="DATE", help="first day")
    backfill.add_argument("--end", type=_day, required=True, metavar="DATE", help="last day")
    sources_option(backfill)
    backfill.add_argument(
        "--source",
        action="append",
        metavar="NAME",
        help="only this source (repeat for several; default: every sitemap, warc and feed)",
    )
    db_option(backfill)
    run_options(backfill)

    runs = commands.add_parser(
        "runs",
        help="list recent runs (collect, backfill, ...) with their counts and failures",
        description="List recent runs, newest first: kind, status, start, duration, new and "
        "failed articles. With --id, one run's per-source summary and failures.",
    )
    runs.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    runs.add_argument("--kind", help="only runs of this kind (collect, backfill, ...)")
    runs.add_argument("--id", type=int, metavar="RUN", help="show one run in full")
    runs.add_argument("--json", action="store_true", help="print as JSON")
    db_option(runs)

    events = commands.add_parser(
        "events",
        help="tracked events, filtered by topic, company or model, date, language, sources",
        description="Tracked events (stories relevant to the seeds), latest activity first.",
    )
    events.add_argument("--topic", choices=("model_launch", "pricing", "investment"))
    events.add_argument("--entity", metavar="NAME", help="a company or model, e.g. Baidu")
    events.add_argument(
        "--country",
        type=_country,
        metavar="CC",
        help="naming a company (or its model) from this country: CN, US, KR...",
    )
    events.add_argument("--since", type=_since, metavar="DATE", help="active at or after DATE")
    events.add_argument(
        "--until", type=_until, metavar="DATE", help="begun at or before DATE (inclusive)"
    )
    events.add_argument("--lang", metavar="L", help="with an article in this language (ko, en, zh)")
    events.add_argument(
        "--min-sources", type=int, default=1, metavar="N", help="at least N sources"
    )
    events.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    events.add_argument("--offset", type=int, default=0, help="skip this many first (paging)")
    shape = events.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print as JSON")
    shape.add_argument("--csv", action="store_true", help="print as CSV")
    db_option(events)
    event = commands.add_parser(
        "event", help="one tracked event: its articles, evidence, amounts and copies"
    )
    event.add_argument("event", type=int, metavar="ID", help="event id (see newswatch events)")
    event.add_argument("--json", action="store_true", help="print as JSON")
    db_option(event)

    stats = commands.add_parser("stats", help="events per topic per day, and per source")
    stats.add_argument("--since", type=_since, metavar="DATE", help="events active since DATE")
    stats.add_argument("--json", action="store_true", help="print as JSON")
    db_option(stats)
    sources = commands.add_parser(
        "sources", help="source health: last success, failures in a row, last error, counts"
    )
    sources.add_argument("--json", action="store_true", help="print as JSON")
    db_option(sources)

    search = commands.add_parser(
        "search",
        help="full-text search over stored articles (Korean and Chinese too)",
        description="Articles holding every word of TEXT, best match first. Korean and "
        "Chinese are matched by character bigrams, so 降价 finds 全面降价 and 딥시크 finds "
        "딥시크가.",
    )
    search.add_argument("text", metavar="TEXT", help="words to find, e.g. 'price cut' or 降价")
    search.add_argument("--lang", metavar="L", help="only articles in this language")
    search.add_argument("--since", type=_since, metavar="DATE", help="published at or after DATE")
    search.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    search.add_argument("--json", action="store_true", help="print as JSON")
    db_option(search)
    web = commands.add_parser(
        "web",
        help="serve the read-only HTTP API and dashboard (loopback by default)",
        description="The dashboard at / and the JSON API under /api (schema at "
        "/api/openapi.json), read-only, over the configured database.",
    )
    web.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    web.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    web.add_argument("--access-log", action="store_true", help="log every request")
    db_option(web)

    alerts = commands.add_parser(
        "alerts",
        help="alerts about tracked events: send, list, test a rule's channels",
        description="One alert per tracked event and rule (seeds/alerts.yaml), on the rule's "
        "Apprise channels, sent once; a follow-up when the event changes materially.",
    )
    alert_commands = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    send = alert_commands.add_parser("send", help="queue alerts for matching events and send")
    send.add_argument("--rules", metavar="PATH", help="rules file (default: seeds/alerts.yaml)")
    send.add_argument(
        "--dry-run", action="store_true", help="show what would be sent, send nothing"
    )
    db_option(send)
    listing = alert_commands.add_parser("list", help="recent alerts and their delivery status")
    listing.add_argument("--failed", action="store_true", help="only alerts not delivered")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    listing.add_argument("--json", action="store_true", help="print as JSON")
    db_option(listing)
    test = alert_commands.add_parser("test", help="send a sample message to a rule's channels")
    test.add_argument("rule", metavar="RULE", help="rule name")
    test.add_argument("--rules", metavar="PATH", help="rules file (default: seeds/alerts.yaml)")

    serve = commands.add_parser(
        "serve",
        help="run collect on a schedule (and serve the other deployments) until stopped",
        description="Serve the newswatch deployments in this process: collect every "
        "$NEWSWATCH_COLLECT_EVERY (default 30m), a daily digest at $NEWSWATCH_DIGEST_CRON, and "
        "backfill and reclassify on demand. Without PREFECT_API_URL a local Prefect server is "
        "started (its data under the data folder) and stopped on exit. Ctrl-C or SIGTERM stops "
        "cleanly. Exit status: 0 when stopped by Ctrl-C or SIGTERM; 2 bad configuration, an "
        "unreachable PREFECT_API_URL or a Prefect server that would not start; 3 database "
        "unreachable.",
    )
    sources_option(serve)
    db_option(serve)
    serve.add_argument(
        "--every", metavar="DURATION", help="collect interval, e.g. 10m (default: settings)"
    )
    serve.add_argument("--digest-cron", metavar="CRON", help="digest slot (default: settings)")
    run_options(serve, progress=False)
    return parser


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date: {value!r} (e.g. 2025-03-01)") from exc


@contextmanager
def opened(db_url: str | None) -> Iterator[Database]:
    """The database of the settings (``--db`` first), upgraded when embedded; closed after."""
    from pipeline.store.database import open_database

    settings = load_settings(db_url=db_url)
    database = open_database(settings.db_url, upgrade=settings.auto_upgrade)
    try:
        yield database
    finally:
        database.dispose()


def quiet_prefect(verbose: bool) -> None:
    # Prefect logs every task state on the console; the summary table says what matters.
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    # A temporary API would otherwise try to phone home, and fail loudly on an offline machine.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def announce_prefect(err: Console) -> None:
    if not os.environ.get("PREFECT_API_URL"):
        err.print(
            "[dim]Starting a temporary local Prefect API (a few seconds); set "
            "PREFECT_API_URL to use a running Prefect server.[/dim]"
        )


def run_collect(
    settings: Settings, *, show_progress: bool, verbose: bool, err: Console
) -> dict[str, Any]:
    """Validate, then run the collect flow in this process."""
    from pipeline.sources import load_sources
    from pipeline.store.database import open_database

    load_sources(settings.sources_path)  # fail fast (exit 2) before Prefect starts
    open_database(settings.db_url, upgrade=settings.auto_upgrade).dispose()
    quiet_prefect(verbose)
    announce_prefect(err)
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.collect import collect

    # A run started from the command line has no runner watching for its heartbeats, and the
    # heartbeat thread holds every run ~1 s at exit (Prefect 3.9.1); runs started by a worker
    # or `serve` keep them.
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        result: dict[str, Any] = collect(
            sources=str(settings.sources_path), db=settings.db_url, show_progress=show_progress
        )
    return result


def cmd_collect(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch collect."""
    from flows.report import print_summary

    settings = load_settings(db_url=args.db, sources_path=args.sources)
    summary = run_collect(
        settings,
        show_progress=not args.no_progress and err.is_terminal,
        verbose=args.verbose,
        err=err,
    )
    if args.json:
        out.print_json(json.dumps(summary, ensure_ascii=False))
    else:
        print_summary(summary, out)
    return EXIT_OK


def cmd_export(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch export."""
    from pipeline.export import export_record, write_csv, write_jsonl
    from pipeline.store.export import iter_articles

    writer = write_csv if args.format == "csv" else write_jsonl
    with opened(args.db) as database:
        records = (export_record(row) for row in iter_articles(database, args.since))
        if args.output:
            with open(args.output, "w", encoding="utf-8", newline="") as handle:
                count = writer(records, handle)
            err.print(f"{count} articles written to {args.output}")
        else:
            writer(records, sys.stdout)
    return EXIT_OK


def cmd_db(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch db upgrade."""
    from pipeline.store.database import display_url, open_database, schema_status

    settings = load_settings(db_url=args.db)
    database = open_database(settings.db_url, upgrade=True)
    current, head = schema_status(database)
    database.dispose()
    out.print(f"database {display_url(settings.db_url)} is at revision {current} (head {head})")
    return EXIT_OK


def cmd_info(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch info."""
    from pipeline.store.database import display_url, schema_status
    from pipeline.store.runs import counts, last_run

    settings = load_settings(db_url=args.db)
    data: dict[str, Any] = {
        "database": display_url(settings.db_url),
        "data_folder": str(settings.home),
        "sources_file": str(settings.sources_path),
        "prefect_api": os.environ.get("PREFECT_API_URL") or "temporary local API per run",
    }
    with opened(args.db) as database:
        data["schema_revision"], data["schema_head"] = schema_status(database)
        data["counts"] = counts(database)
        run = last_run(database)
    data["last_run"] = (
        {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in run.items()}
        if run
        else None
    )
    if args.json:
        out.print_json(json.dumps(data, ensure_ascii=False))
        return EXIT_OK
    for key, value in data.items():
        out.print(f"[bold]{key}[/bold]: {value}", highlight=False)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch demo."""
    from flows.demo import run_demo

    settings = load_settings(db_url=args.db)
    return run_demo(
        settings,
        port=args.port,
        as_json=args.json,
        show_progress=not args.no_progress and err.is_terminal,
        verbose=args.verbose,
        out=out,
        err=err,
    )


COMMANDS: dict[str, Callable[[argparse.Namespace, Console, Console], int]] = {
    "collect": cmd_collect,
    "export": cmd_export,
    "db": cmd_db,
    "info": cmd_info,
    "demo": cmd_demo,
    "stories": lambda a, o, e: _curation().cmd_stories(a, o, e),
    "show": lambda a, o, e: _curation().cmd_show(a, o, e),
    "recluster": lambda a, o, e: _curation().cmd_recluster(a, o, e),
    "reclassify": lambda a, o, e: _curation().cmd_reclassify(a, o, e),
    "entities": lambda a, o, e: _curation().cmd_entities(a, o, e),
    "backfill": lambda a, o, e: _module("flows.backfill_cli").cmd_backfill(a, o, e),
    "runs": lambda a, o, e: _module("flows.runs_cli").cmd_runs(a, o, e),
    "serve": lambda a, o, e: _module("flows.serve").cmd_serve(a, o, e),
    "alerts": lambda a, o, e: _module("flows.alerts_cli").cmd_alerts(a, o, e),
    "events": lambda a, o, e: _module("flows.events_cli").cmd_events(a, o, e),
    "event": lambda a, o, e: _module("flows.events_cli").cmd_event(a, o, e),
    "stats": lambda a, o, e: _module("flows.events_cli").cmd_stats(a, o, e),
    "sources": lambda a, o, e: _module("flows.events_cli").cmd_sources(a, o, e),
    "search": lambda a, o, e: _module("flows.search_cli").cmd_search(a, o, e),
    "web": lambda a, o, e: _module("flows.web_cli").cmd_web(a, o, e),
}


def _module(name: str) -> Any:
    import importlib

    return importlib.import_module(name)


def _curation() -> Any:
    import flows.curation

    return flows.curation


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newswatch`` console script."""
    args = build_parser().parse_args(argv)
    out = Console(soft_wrap=False)
    err = Console(stderr=True)
    try:
        return COMMANDS[args.command](args, out, err)
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        return EXIT_USAGE
    except DatabaseError as exc:
        err.print(f"[red]database error:[/red] {escape(str(exc))}", highlight=False)
        return EXIT_DATABASE
    except NewswatchError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
