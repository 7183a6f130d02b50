"""The Prefect tasks shared by the collect and backfill flows.

Each is a unit that needs retries or visibility, never one per article:

- ``poll-host``: poll the sources that share a host (one Fetcher, ≤ 2 requests at a time);
- ``fetch-pages``: fetch and extract one batch of new entries (threads + extraction processes);
- ``store-pages``: write one batch of articles and failures (retried on a transient DB error);
- ``cluster``: copies and stories for the articles not clustered yet (one exclusive step);
- ``classify``: topics, entities, amounts, relevance; tracked events of the stories touched.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows import progress
from pipeline.classify import Classifier
from pipeline.cluster import cluster_pending
from pipeline.entities import load_entities
from pipeline.fetch_settings import FetchSettings
from pipeline.pages import fetch_and_extract
from pipeline.poll import poll_sources
from pipeline.records import Entry, PageOutcome, PollResult, Source, Validators
from pipeline.store.database import open_database
from pipeline.store.entries import SavedCounts, save_outcomes
from pipeline.tracking import classify_pending


@task(name="poll-host", cache_policy=NO_CACHE, persist_result=False)
def poll_host(
    sources: list[Source], validators: dict[str, Validators], fetch: FetchSettings, now: datetime
) -> list[PollResult]:
    """Poll every source on one host."""
    return poll_sources(sources, validators, fetch, now)


@task(name="fetch-pages", cache_policy=NO_CACHE, persist_result=False)
def fetch_pages(
    entries: list[Entry], sources: dict[str, Source], fetch: FetchSettings, now: datetime
) -> list[PageOutcome]:
    """Fetch and extract one batch of pages."""
    bar = progress.current()
    return fetch_and_extract(
        entries, sources, fetch, now, workers=fetch.extract_workers, on_done=bar.advance
    )


@task(
    name="store-pages",
    cache_policy=NO_CACHE,
    persist_result=False,
    retries=2,
    retry_delay_seconds=2,
)
def store_pages(
    db_url: str,
    outcomes: list[PageOutcome],
    source_ids: dict[str, int],
    run_id: int,
    max_attempts: int,
    now: datetime,
) -> SavedCounts:
    """Write one batch of outcomes (idempotent: safe to retry)."""
    database = open_database(db_url, check=False)
    try:
        return save_outcomes(database, outcomes, source_ids, run_id, max_attempts, now)
    finally:
        database.dispose()


@task(name="cluster", cache_policy=NO_CACHE, persist_result=False, retries=1, retry_delay_seconds=2)
def cluster_articles(db_url: str, entities_path: str, now: datetime) -> dict[str, int]:
    """Find copies and stories for every article not clustered yet (this run's and any left
    by an interrupted run)."""
    database = open_database(db_url, check=False)
    try:
        return asdict(cluster_pending(database, load_entities(entities_path), now))
    finally:
        database.dispose()


@task(
    name="classify", cache_policy=NO_CACHE, persist_result=False, retries=1, retry_delay_seconds=2
)
def classify_articles(db_url: str, seeds_dir: str, now: datetime) -> dict[str, int]:
    """Topics, entities, amounts and relevance for every article not classified yet, and the
    tracked events of their stories."""
    database = open_database(db_url, check=False)
    try:
        return asdict(classify_pending(database, Classifier.from_seeds(Path(seeds_dir)), now))
    finally:
        database.dispose()
