"""``newswatch events`` and ``newswatch event ID``: tracked events as a table, JSON or CSV.

Query commands: they never import Prefect.
"""

from __future__ import annotations

import argparse
import csv
import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flows.cli import EXIT_OK, EXIT_USAGE, opened
from flows.present import jsonable, print_json
from pipeline.headline import largest_investment_usd, lowest_price_usd, short_usd

CSV_FIELDS = (
    "id",
    "title",
    "topics",
    "entities",
    "amounts_usd",
    "largest_investment_usd",
    "lowest_price_usd",
    "first_seen",
    "last_seen",
    "articles",
    "sources",
    "langs",
    "relevance",
)


def _topics(event: dict[str, Any]) -> list[str]:
    return [t["name"] for t in event["topics"] or ()]


def _usd(event: dict[str, Any]) -> list[float]:
    return [float(a["value_usd"]) for a in event["amounts"] or () if a.get("value_usd")]


def csv_row(event: dict[str, Any]) -> dict[str, Any]:
    """One event as a CSV row: lists are JSON in their cell."""
    return {
        "id": event["id"],
        "title": event["title"],
        "topics": json.dumps(_topics(event)),
        "entities": json.dumps([e["name"] for e in event["entities"] or ()], ensure_ascii=False),
        "amounts_usd": json.dumps(_usd(event)),
        "largest_investment_usd": largest_investment_usd(event["amounts"]) or "",
        "lowest_price_usd": lowest_price_usd(event["amounts"]) or "",
        "first_seen": event["first_seen"].isoformat(),
        "last_seen": event["last_seen"].isoformat(),
        "articles": event["articles"],
        "sources": event["sources"],
        "langs": json.dumps(event["langs"] or []),
        "relevance": event["relevance"],
    }


def _names(event: dict[str, Any], kinds: tuple[str, ...], most: int) -> str:
    names = [e["name"] for e in event["entities"] or () if e.get("kind") in kinds]
    more = f" +{len(names) - most}" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def _money(event: dict[str, Any]) -> str:
    parts = []
    invested = largest_investment_usd(event["amounts"])
    if invested:
        parts.append(f"invest {short_usd(invested)}")
    price = lowest_price_usd(event["amounts"])
    if price:
        parts.append(f"price {short_usd(price)}")
    return "\n".join(parts)


def print_events(events: list[dict[str, Any]], out: Console) -> None:
    """The events as a table, latest first: companies and models apart, the largest
    investment and the lowest price in US dollars."""
    table = Table(title=f"{len(events)} tracked events, latest first", title_justify="left")
    columns = ("event", "last seen", "topics", "companies", "models", "money", "srcs", "title")
    for column in columns:
        table.add_column(column, overflow="fold")
    for event in events:
        table.add_row(
            str(event["id"]),
            f"{event['last_seen']:%Y-%m-%d}",
            ", ".join(_topics(event)),
            escape(_names(event, ("company", "org"), 4)),
            escape(_names(event, ("model", "product"), 3)),
            _money(event),
            f"{event['sources']} {','.join(event['langs'] or [])}",
            escape(str(event["title"])[:90]),
        )
    out.print(table)


def cmd_events(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch events."""
    from pipeline.store.events_query import EventFilter, list_events

    wanted = EventFilter(
        topic=args.topic,
        entity=args.entity,
        country=args.country,
        since=args.since,
        until=args.until,
        lang=args.lang,
        min_sources=args.min_sources,
        limit=args.limit,
        offset=args.offset,
    )
    with opened(args.db) as database:
        events = list_events(database, wanted)
    if args.json:
        print_json(events, out)
    elif args.csv:
        writer = csv.DictWriter(out.file, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(csv_row(e) for e in events)
    else:
        print_events(events, out)
    return EXIT_OK


def cmd_event(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch event ID."""
    from pipeline.store.events_query import event_detail

    with opened(args.db) as database:
        event = event_detail(database, args.event)
    if event is None:
        err.print(f"[red]error:[/red] no tracked event {args.event}")
        return EXIT_USAGE
    if args.json:
        print_json(jsonable(event), out)
        return EXIT_OK
    out.print(f"[bold]event {event['id']}[/bold]: {escape(event['title'])}", highlight=False)
    out.print(
        f"{event['articles']} articles from {event['sources']} sources "
        f"({', '.join(event['langs'] or [])}), {event['first_seen']:%Y-%m-%d %H:%M} to "
        f"{event['last_seen']:%Y-%m-%d %H:%M} UTC; relevance {event['relevance']:.2f}, "
        f"revision {event['revision']}",
        highlight=False,
    )
    for topic in event["topics"] or ():
        out.print(
            f"  {topic['name']} ({topic.get('score', 0):.2f}): "
            f"“{escape(' '.join(str(topic.get('evidence') or '').split())[:200])}”",
            highlight=False,
        )
    if event["entities"]:
        names = ", ".join(e["name"] for e in event["entities"])
        out.print(f"  entities: {escape(names)}", highlight=False)
    for amount in event["amounts"] or ():
        usd = f" (${amount['value_usd']:,.0f})" if amount.get("value_usd") else ""
        out.print(f"  amount: {escape(str(amount.get('raw')))}{usd}", highlight=False)
    table = Table(title="articles", title_justify="left")
    for column in ("id", "published", "source", "lang", "copy of", "title"):
        table.add_column(column, overflow="fold")
    for article in event["article_list"]:
        copy = (
            f"{article['duplicate_of']} ({article['copy_method']}, "
            f"{article['copy_similarity'] or 1:.2f})"
            if article["duplicate_of"]
            else "-"
        )
        when = article["published_at"]
        table.add_row(
            str(article["id"]),
            f"{when:%Y-%m-%d %H:%M}" if when else "-",
            escape(article["source"]),
            article["lang"] or "?",
            copy,
            escape(str(article["title"])[:80]),
        )
    out.print(table)
    return EXIT_OK


def cmd_stats(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch stats."""
    from pipeline.store.stats import event_stats

    with opened(args.db) as database:
        stats = event_stats(database, args.since)
    if args.json:
        print_json(stats, out)
        return EXIT_OK
    days = sorted({row["day"] for row in stats["per_topic_per_day"]})
    topics = ("model_launch", "pricing", "investment")
    counts = {(r["day"], r["topic"]): r["events"] for r in stats["per_topic_per_day"]}
    table = Table(title="events per topic, by the day they began", title_justify="left")
    table.add_column("day")
    for topic in topics:
        table.add_column(topic, justify="right")
    for day in days:
        table.add_row(day, *(str(counts.get((day, t), 0)) for t in topics))
    out.print(table)
    sources = Table(title="events per source", title_justify="left")
    sources.add_column("source")
    sources.add_column("events", justify="right")
    for row in stats["per_source"]:
        sources.add_row(escape(row["source"]), str(row["events"]))
    out.print(sources)
    return EXIT_OK


def _backoff_settings(args: argparse.Namespace) -> tuple[float, float]:
    """The sources file's backoff (its defaults when the file cannot be read)."""
    from pipeline.errors import ConfigError
    from pipeline.fetch_settings import FetchSettings
    from pipeline.settings import load_settings
    from pipeline.sources import load_sources

    try:
        fetch = load_sources(load_settings(db_url=args.db).sources_path).fetch
    except ConfigError:
        fetch = FetchSettings.model_validate({})
    return fetch.source_backoff, fetch.source_backoff_max


def cmd_sources(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch sources."""
    from datetime import UTC, datetime

    from pipeline.backoff import rest_until
    from pipeline.store.stats import source_report

    with opened(args.db) as database:
        sources = source_report(database)
    base, cap = _backoff_settings(args)
    now = datetime.now(UTC)
    for s in sources:
        until = rest_until(s["consecutive_failures"], s["last_polled_at"], base, cap)
        s["resting_until"] = until if until is not None and until > now else None
    if args.json:
        print_json(sources, out)
        return EXIT_OK
    table = Table(title=f"{len(sources)} sources, failing first", title_justify="left")
    columns = ("source", "kind", "last success (UTC)", "fails", "next poll", "entries", "articles")
    for column in (*columns, "error"):
        table.add_column(column, overflow="fold")
    for s in sources:
        success = s["last_success_at"]
        resting = s["resting_until"]
        table.add_row(
            escape(s["name"]),
            s["kind"],
            f"{success:%Y-%m-%d %H:%M}" if success else "never",
            str(s["consecutive_failures"]),
            f"resting until {resting:%m-%d %H:%M}" if resting else "next run",
            str(s["entries"]),
            str(s["articles"]),
            escape((s["last_error"] or "")[:80]),
            style="red" if s["consecutive_failures"] else None,
        )
    out.print(table)
    return EXIT_OK
