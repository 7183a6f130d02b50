"""Commands that keep copies, stories and labels right: stories, show, recluster,
reclassify, entities. Handlers of the ``newswatch`` parser in ``flows.cli``; none imports
Prefect.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape

from flows.cli import EXIT_OK, EXIT_USAGE, opened
from flows.present import (
    print_article,
    print_json,
    print_stories,
    print_unknown,
)
from pipeline.settings import load_settings


def _answer(data: Any, as_json: bool, table: Callable[[Any, Console], None], out: Console) -> int:
    if as_json:
        print_json(data, out)
    else:
        table(data, out)
    return EXIT_OK


def cmd_stories(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch stories."""
    from pipeline.store.views import list_stories

    with opened(args.db) as database:
        found = list_stories(database, args.since, args.limit)
    return _answer(found, args.json, print_stories, out)


def cmd_show(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch show."""
    from pipeline.store.views import explain

    with opened(args.db) as database:
        article = explain(database, args.article)
    if article is None:
        err.print(f"no stored article with id or URL {escape(args.article)}")
        return EXIT_USAGE
    return _answer(article, args.json, print_article, out)


def cmd_entities(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch entities --unknown."""
    from pipeline.store.labels import unknown_name_counts

    with opened(args.db) as database:
        names = unknown_name_counts(database, args.since, args.limit)
    return _answer(names, args.json, print_unknown, out)


def cmd_recluster(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch recluster."""
    from pipeline.classify import Classifier
    from pipeline.cluster import recluster
    from pipeline.tracking import refresh_events

    classifier = Classifier.from_seeds(load_settings().seeds_dir)
    with opened(args.db) as database, _counter(err, "recluster") as advance:
        now = datetime.now(UTC)
        report = recluster(database, classifier.entities, now, since=args.since, on_chunk=advance)
        # Stories were rebuilt: so are their tracked events.
        refresh_events(database, classifier, now, args.since)

    def sentence(data: dict[str, int], console: Console) -> None:
        console.print(
            f"reclustered {data['articles']} articles: {data['copies']} copies, "
            f"{data['new_stories']} stories opened, {data['joined']} articles "
            "joined a story",
            highlight=False,
        )

    return _answer(asdict(report), args.json, sentence, out)


def cmd_reclassify(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch reclassify."""
    from pipeline.classify import Classifier
    from pipeline.tracking import reclassify

    classifier = Classifier.from_seeds(load_settings().seeds_dir)
    with opened(args.db) as database, _counter(err, "reclassify") as advance:
        report = reclassify(
            database, classifier, datetime.now(UTC), since=args.since, on_chunk=advance
        )

    def sentence(data: dict[str, int], console: Console) -> None:
        console.print(
            f"reclassified {data['articles']} articles ({data['relevant']} "
            f"relevant); tracked events: {data['events_new']} new, "
            f"{data['events_changed']} changed, {data['events_gone']} no longer "
            "relevant",
            highlight=False,
        )

    return _answer(asdict(report), args.json, sentence, out)


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
