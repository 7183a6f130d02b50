"""The classification step: label stored articles, then bring tracked events up to date.

Runs after clustering, in the same kind of exclusive transaction (concurrent collects never
write one event twice). ``reclassify`` forgets labels since a date and runs the step again;
``refresh_events`` rebuilds the events of stories without relabelling (after a recluster).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pipeline.classify import Classifier
from pipeline.cluster import LOCK
from pipeline.events import build_event
from pipeline.store import labels
from pipeline.store.database import Database

log = logging.getLogger(__name__)


@dataclass(slots=True)
class TrackingReport:
    """What a classification step did."""

    articles: int = 0
    relevant: int = 0
    events_new: int = 0
    events_changed: int = 0
    events_gone: int = 0


def _refresh(
    conn: labels.Connection,
    db: Database,
    classifier: Classifier,
    story_ids: set[int],
    now: datetime,
    report: TrackingReport,
) -> None:
    for story in sorted(story_ids):
        event = build_event(story, labels.members(conn, story), classifier.threshold)
        outcome = labels.save_event(conn, db, story, event, now)
        if outcome == "new":
            report.events_new += 1
        elif outcome == "changed":
            report.events_changed += 1
        elif outcome == "gone":
            report.events_gone += 1


def classify_pending(
    db: Database,
    classifier: Classifier,
    now: datetime,
    *,
    chunk: int = 500,
    on_chunk: Callable[[int], None] | None = None,
) -> TrackingReport:
    """Classify every article not classified yet and refresh the events of their stories."""
    report = TrackingReport()
    while True:
        with db.begin_exclusive(LOCK) as conn:
            batch = labels.unclassified(conn, chunk)
            stories: set[int] = set()
            for item in batch:
                result = classifier.classify(item.title, item.text, item.lang)
                labels.save_classification(conn, item.id, result, now)
                report.relevant += result.relevance >= classifier.threshold
                if item.story_id is not None:
                    stories.add(item.story_id)
            _refresh(conn, db, classifier, stories, now, report)
        report.articles += len(batch)
        if on_chunk is not None and batch:
            on_chunk(len(batch))
        if len(batch) < chunk:
            return report


def refresh_events(
    db: Database, classifier: Classifier, now: datetime, since: datetime | None = None
) -> TrackingReport:
    """Rebuild the events of every story active since ``since`` (all when None)."""
    report = TrackingReport()
    with db.begin_exclusive(LOCK) as conn:
        _refresh(conn, db, classifier, set(labels.stories_since(conn, since)), now, report)
    return report


def reclassify(
    db: Database,
    classifier: Classifier,
    now: datetime,
    *,
    since: datetime | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> TrackingReport:
    """Label again the articles since ``since`` (all when None) with the current seed files."""
    with db.begin_exclusive(LOCK) as conn:
        forgotten = labels.reset_labels(conn, since)
    log.info("reclassify reset articles=%d since=%s", forgotten, since)
    report = classify_pending(db, classifier, now, on_chunk=on_chunk)
    # Stories whose articles all kept their labels may still cross the threshold now.
    extra = refresh_events(db, classifier, now, since)
    report.events_new += extra.events_new
    report.events_changed += extra.events_changed
    report.events_gone += extra.events_gone
    return report
