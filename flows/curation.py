"""Commands that keep copies, stories and labels right: stories, show, recluster,
reclassify, entities. Handlers of the ``newswatch`` parser in ``flows.cli``; none imports
Prefect.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from rich.console import Console
from rich.markup import escape

from flows.cli import EXIT_OK, EXIT_USAGE
from pipeline.settings import load_settings


def cmd_stories(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch stories."""
    from flows.present import print_json, print_stories
    from pipeline.store.database import open_database
    from pipeline.store.views import list_stories

    settings = load_settings(db_url=args.db)
    database = open_database(settings.db_url, upgrade=settings.auto_upgrade)
    try:
        found = list_stories(database, args.since, args.limit)
    finally:
        database.dispose()
    if args.json:
        print_json(found, out)
    else:
        print_stories(found, out)
    return EXIT_OK


def cmd_show(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch show."""
    from flows.present import print_article, print_json
    from pipeline.store.database import open_database
    from pipeline.store.views import explain

    settings = load_settings(db_url=args.db)
    database = open_database(settings.db_url, upgrade=settings.auto_upgrade)
    try:
        article = explain(database, args.article)
    finally:
        database.dispose()
    if article is None:
        err.print(f"no stored article with id or URL {escape(args.article)}")
        return EXIT_USAGE
    if args.json:
        print_json(article, out)
    else:
        print_article(article, out)
    return EXIT_OK


def cmd_recluster(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch recluster."""
    from dataclasses import asdict

    from flows.present import print_json
    from pipeline.classify import Classifier
    from pipeline.cluster import recluster
    from pipeline.store.database import open_database
    from pipeline.tracking import refresh_events

    settings = load_settings(db_url=args.db)
    classifier = Classifier.from_seeds(settings.seeds_dir)
    database = open_database(settings.db_url, upgrade=settings.auto_upgrade)
    try:
        now = datetime.now(UTC)
        with _counter(err, "recluster") as advance:
            report = recluster(
                database, classifier.entities, now, since=args.since, on_chunk=advance
            )
        # Stories were rebuilt: so are their tracked events.
        refresh_events(database, classifier, now, args.since)
    finally:
        database.dispose()
    if args.json:
        print_json(asdict(report), out)
    else:
        out.print(
            f"reclustered {report.articles} articles: {report.copies} copies, "
            f"{report.new_stories} stories opened, {report.joined} articles joined a "
            "story",
            highlight=False,
        )
    return EXIT_OK


@contextmanager
def _counter(err: Console, label: str) -> Iterator[Callable[[int], None]]:
    """A running count on a terminal; nothing otherwise."""
    if not err.is_terminal:
        yield lambda count: None
        return
    from rich.progress import Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(f"[bold]{label}"),
        TextColumn("{task.completed} articles"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None)
        yield lambda count: progress.advance(task, count)


def cmd_reclassify(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch reclassify."""
    from dataclasses import asdict

    from flows.present import print_json
    from pipeline.classify import Classifier
    from pipeline.store.database import open_database
    from pipeline.tracking import reclassify

    settings = load_settings(db_url=args.db)
    classifier = Classifier.from_seeds(settings.seeds_dir)
    database = open_database(settings.db_url, upgrade=settings.auto_upgrade)
    try:
        with _counter(err, "reclassify") as advance:
            report = reclassify(
                database, classifier, datetime.now(UTC), since=args.since, on_chunk=advance
            )
    finally:
        database.dispose()
    if args.json:
        print_json(asdict(report), out)
    else:
        out.print(
            f"reclassified {report.articles} articles ({report.relevant} relevant); "
            f"tracked events: {report.events_new} new, {report.events_changed} changed, "
            f"{report.events_gone} no longer relevant",
            highlight=False,
        )
    return EXIT_OK


def cmd_entities(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch entities --unknown."""
    from flows.present import print_json, print_unknown
    from pipeline.store.database import open_database
    from pipeline.store.labels import unknown_name_counts

    settings = load_settings(db_url=args.db)
    database = open_database(settings.db_url, upgrade=settings.auto_upgrade)
    try:
        names = unknown_name_counts(database, args.since, args.limit)
    finally:
        database.dispose()
    if args.json:
        print_json(names, out)
    else:
        print_unknown(names, out)
    return EXIT_OK
