"""Maintenance flows served by ``newswatch serve``: ``reclassify`` and the daily ``digest``.

- ``reclassify``: label stored articles again with the current seed files and rebuild the
  tracked events (what ``newswatch reclassify`` does), as a flow that can be run by hand
  (``prefect deployment run 'reclassify/newswatch' --param since=2025-03-01``).
- ``digest``: the tracked events created or materially changed in the last 24 hours,
  summarised as a Markdown artifact; alerts will send it.

Each records a row in the runs table (kind ``reclassify`` or ``digest``, marked failed when
the flow stops on an error) and leaves a Prefect artifact. The selection and the Markdown are
plain functions over event rows, so they are tested without Prefect.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.recording import recorded_run
from pipeline import tracking
from pipeline.classify import Classifier
from pipeline.errors import ConfigError
from pipeline.records import RunSummary
from pipeline.settings import load_settings
from pipeline.store import labels
from pipeline.store.database import open_database
from pipeline.store.runs import finish_run

DIGEST_HOURS = 24.0
_SHOWN_ENTITIES = 6


def parse_instant(value: str | None, name: str) -> datetime | None:
    """An ISO date or datetime parameter as aware UTC (UTC when no zone is given)."""
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ConfigError(
            f"{name}={value!r} is not an ISO date or datetime (e.g. 2025-03-01)"
        ) from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


@flow(name="reclassify", persist_result=False, log_prints=False)
def reclassify(since: str | None = None, db: str | None = None) -> dict[str, Any]:
    """Label stored articles again (those published since ``since``, all when None) and
    rebuild the tracked events; return the counts."""
    logger = get_run_logger()
    settings = load_settings(db_url=db)
    after = parse_instant(since, "since")
    classifier = Classifier.from_seeds(settings.seeds_dir)
    database = open_database(settings.db_url, upgrade=settings.auto_upgrade)
    started = datetime.now(UTC)
    clock = time.monotonic()
    try:
        with recorded_run(database, "reclassify", started) as run_id:
            report = tracking.reclassify(database, classifier, started, since=after)
            finished = started + timedelta(seconds=time.monotonic() - clock)
            finish_run(
                database,
                RunSummary(
                    run_id=run_id,
                    started_at=started,
                    finished_at=finished,
                    sources=(),
                    classified=report.articles,
                    relevant=report.relevant,
                    events_new=report.events_new,
                    events_changed=report.events_changed,
                ),
            )
    finally:
        database.dispose()
    counts: dict[str, Any] = {"run_id": run_id, "since": after and after.isoformat()}
    counts.update(asdict(report))
    create_markdown_artifact(
        key="reclassify-summary",
        markdown=reclassify_markdown(counts),
        description=f"reclassify run {run_id}",
    )
    logger.info(
        "run %d: reclassified %d articles (%d relevant); events %d new, %d changed, %d gone",
        run_id,
        report.articles,
        report.relevant,
        report.events_new,
        report.events_changed,
        report.events_gone,
    )
    return counts


def reclassify_markdown(counts: Mapping[str, Any]) -> str:
    """The reclassify artifact."""
    scope = f"published since {counts['since']}" if counts.get("since") else "all articles"
    return (
        f"# reclassify run {counts['run_id']}\n\n"
        f"Scope: {scope}.\n\n"
        "| articles | relevant | events new | events changed | events gone |\n"
        "|---:|---:|---:|---:|---:|\n"
        f"| {counts['articles']} | {counts['relevant']} | {counts['events_new']} "
        f"| {counts['events_changed']} | {counts['events_gone']} |\n"
    )


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One tracked event in a digest."""

    id: int
    title: str
    status: str  # "new" (first revision) or "changed"
    revision: int
    topics: tuple[str, ...]
    entities: tuple[str, ...]
    amounts: tuple[str, ...]
    articles: int
    sources: int
    langs: tuple[str, ...]
    last_seen: datetime
    updated_at: datetime


def digest_items(events: Iterable[Mapping[str, Any]], since: datetime) -> list[DigestItem]:
    """The events written at or after ``since``, most relevant first (then latest)."""
    picked = [e for e in events if e["updated_at"] >= since]
    picked.sort(key=lambda e: (-float(e["relevance"]), -e["updated_at"].timestamp(), e["id"]))
    return [
        DigestItem(
            id=int(e["id"]),
            title=str(e["title"]),
            status="new" if int(e["revision"]) <= 1 else "changed",
            revision=int(e["revision"]),
            topics=tuple(t["name"] for t in e["topics"] or ()),
            entities=tuple(x["name"] for x in (e["entities"] or ())[:_SHOWN_ENTITIES]),
            amounts=tuple(str(a.get("raw") or a.get("value")) for a in e["amounts"] or ()),
            articles=int(e["articles"]),
            sources=int(e["sources"]),
            langs=tuple(e["langs"] or ()),
            last_seen=e["last_seen"],
            updated_at=e["updated_at"],
        )
        for e in picked
    ]


def _md(text: str) -> str:
    """Text safe inside a Markdown line (titles come from outside)."""
    escaped = "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in text)
    return " ".join(escaped.split())


def digest_markdown(items: Sequence[DigestItem], since: datetime, now: datetime) -> str:
    """The digest as Markdown: a count line, then one section per event."""
    new = sum(item.status == "new" for item in items)
    lines = [
        f"# newswatch digest, {now:%Y-%m-%d %H:%M} UTC",
        "",
        f"{len(items)} tracked events written since {since:%Y-%m-%d %H:%M} UTC: "
        f"{new} new, {len(items) - new} changed.",
    ]
    for item in items:
        status = "new" if item.status == "new" else f"changed, revision {item.revision}"
        lines += [
            "",
            f"## {_md(item.title) or '(untitled)'}",
            "",
            f"- event {item.id} ({status}); {item.articles} articles from {item.sources} "
            f"sources ({', '.join(item.langs) or '?'}); last article "
            f"{item.last_seen:%Y-%m-%d %H:%M} UTC",
        ]
        if item.topics:
            lines.append(f"- topics: {_md(', '.join(item.topics))}")
        if item.entities:
            lines.append(f"- entities: {_md(', '.join(item.entities))}")
        if item.amounts:
            lines.append(f"- amounts: {_md('; '.join(item.amounts))}")
    return "\n".join(lines) + "\n"


@flow(name="digest", persist_result=False, log_prints=False)
def digest(
    db: str | None = None, hours: float = DIGEST_HOURS, now: str | None = None
) -> dict[str, Any]:
    """Summarise the tracked events written in the ``hours`` before ``now`` (default: the
    last 24 hours) as a Markdown artifact; return the digest."""
    logger = get_run_logger()
    settings = load_settings(db_url=db)
    if hours <= 0:
        raise ConfigError(f"hours={hours!r} must be positive")
    until = parse_instant(now, "now") or datetime.now(UTC)
    since = until - timedelta(hours=hours)
    database = open_database(settings.db_url, upgrade=settings.auto_upgrade)
    started = datetime.now(UTC)
    try:
        with recorded_run(database, "digest", started) as run_id:
            items = digest_items(labels.events_updated_since(database, since), since)
            new = sum(item.status == "new" for item in items)
            finish_run(
                database,
                RunSummary(
                    run_id=run_id,
                    started_at=started,
                    finished_at=datetime.now(UTC),
                    sources=(),
                    events_new=new,
                    events_changed=len(items) - new,
                ),
            )
    finally:
        database.dispose()
    markdown = digest_markdown(items, since, until)
    create_markdown_artifact(
        key="digest", markdown=markdown, description=f"digest run {run_id}: {len(items)} events"
    )
    logger.info("run %d: digest of %d events (%d new)", run_id, len(items), new)
    return {
        "run_id": run_id,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "events": [
            asdict(item)
            | {"last_seen": item.last_seen.isoformat(), "updated_at": item.updated_at.isoformat()}
            for item in items
        ],
        "markdown": markdown,
    }
