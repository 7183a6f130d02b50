"""Copies and stories on real databases: the labelled set, recluster, ordering, export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from benchmarks.labelled import evaluate, load, store_and_cluster
from db.models import ArticleRow, StoryRow
from pipeline.cluster import cluster_pending, recluster
from pipeline.entities import EntityTable, load_entities
from pipeline.export import export_record
from pipeline.extract import fingerprint
from pipeline.records import Article, Entry, PageOutcome, Source
from pipeline.settings import SEEDS_DIR
from pipeline.store.database import Database, open_database
from pipeline.store.entries import register_entries, save_outcomes
from pipeline.store.export import iter_articles
from pipeline.store.runs import start_run
from pipeline.store.sources import sync_sources
from pipeline.store.views import explain, list_stories


@pytest.fixture(scope="module")
def entities() -> EntityTable:
    return load_entities(SEEDS_DIR / "entities.yaml")


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = open_database(db_url, upgrade=True)
    yield db
    db.dispose()


def _state(db: Database) -> list[tuple[Any, ...]]:
    with db.connect() as conn:
        return sorted(
            conn.execute(
                select(
                    ArticleRow.id,
                    ArticleRow.duplicate_of,
                    ArticleRow.copy_method,
                    ArticleRow.story_id,
                )
            ).all()
        )


@pytest.mark.parametrize("split", ["dev", "holdout"])
def test_labelled_set_meets_the_targets(
    database: Database, entities: EntityTable, split: str
) -> None:
    """Targets of the issue, held on the split never tuned on (and on the dev split)."""
    articles = load(split)
    ids = store_and_cluster(database, articles, entities)
    result = evaluate(database, articles, ids)
    copies, stories = result["copies"], result["stories"]
    assert copies.precision >= 0.99 and copies.recall >= 0.95, copies
    assert stories.precision >= 0.90 and stories.recall >= 0.80, stories
    right, total = result["originals_right"]
    assert right == total  # duplicate_of names the earliest published copy


def test_recluster_is_idempotent_and_keeps_ids(database: Database, entities: EntityTable) -> None:
    articles = load("dev")
    store_and_cluster(database, articles, entities)
    now = datetime(2025, 5, 1, tzinfo=UTC)
    recluster(database, entities, now)
    first = _state(database)
    report = recluster(database, entities, now)
    assert report.articles == len(articles)
    assert _state(database) == first
    with database.connect() as conn:
        stories = conn.execute(select(StoryRow.id, StoryRow.articles)).all()
    # Every story id is the id of an article of the story (the one that opened it).
    members = {story for _, _, _, story in first}
    assert {story for story, _ in stories} == members
    assert sum(count for _, count in stories) == len(articles)


def test_recluster_since_touches_only_recent_stories(
    database: Database, entities: EntityTable
) -> None:
    articles = load("dev")
    store_and_cluster(database, articles, entities)
    before = _state(database)
    report = recluster(
        database, entities, datetime(2025, 3, 1, tzinfo=UTC), since=datetime(2025, 3, 1, tzinfo=UTC)
    )
    assert 0 < report.articles < len(articles)
    assert _state(database) == before


def _store(db: Database, items: list[tuple[str, str, str, datetime, datetime]]) -> dict[str, int]:
    """Store (url, title, text, published, fetched) articles of one source; url -> id."""
    ids = {
        k: v.id
        for k, v in sync_sources(
            db, [Source("wire", "https://wire.example/rss")], items[0][4]
        ).items()
    }
    run = start_run(db, items[0][4])
    entries = [Entry("wire", u, u, t, published_at=p, lang="en") for u, t, _, p, _ in items]
    register_entries(db, entries, ids, items[0][4])
    save_outcomes(
        db,
        [
            PageOutcome(
                e,
                article=Article(
                    url=u,
                    final_url=u,
                    canonical_url=u,
                    source="wire",
                    title=t,
                    text=x,
                    lang="en",
                    published_at=p,
                    fetched_at=f,
                    fingerprint=fingerprint(x),
                ),
            )
            for e, (u, t, x, p, f) in zip(entries, items, strict=True)
        ],
        ids,
        run,
        3,
        items[0][4],
    )
    with db.connect() as conn:
        return dict(conn.execute(select(ArticleRow.canonical_url, ArticleRow.id)).all())


BODY = (
    "Baidu said on Sunday it would make its ERNIE X1 reasoning model available to "
    "individual users for free, and cut the price of its ERNIE 4.5 API to half that of "
    "rival offerings. The company said the X1 model matches DeepSeek-R1 on reasoning tests "
    "while costing about half as much to run. Analysts said the move would deepen the "
    "price war among Chinese cloud providers that began after DeepSeek's launch in January."
)


def test_an_earlier_original_arriving_later_becomes_the_original(
    database: Database, entities: EntityTable
) -> None:
    t0 = datetime(2025, 3, 16, 6, 0, tzinfo=UTC)
    ids = _store(
        database,
        [
            (
                "https://wire.example/copy",
                "Copy headline",
                "(Wire) " + BODY,
                t0 + timedelta(hours=2),
                t0 + timedelta(hours=2),
            )
        ],
    )
    cluster_pending(database, entities, t0 + timedelta(hours=2))
    ids = _store(
        database,
        [("https://wire.example/original", "Original headline", BODY, t0, t0 + timedelta(hours=5))],
    )
    cluster_pending(database, entities, t0 + timedelta(hours=5))
    copy = explain(database, "https://wire.example/copy")
    original = explain(database, str(ids["https://wire.example/original"]))
    assert copy is not None and original is not None
    assert copy["duplicate_of"] == original["id"] and copy["copy_method"] == "near"
    assert original["duplicate_of"] is None and len(original["copies"]) == 1
    assert copy["story_id"] == original["story_id"] is not None
    records = {r["url"]: export_record(r) for r in iter_articles(database)}
    assert records["https://wire.example/copy"]["duplicate_of"] == "https://wire.example/original"
    assert records["https://wire.example/original"]["duplicate_of"] is None
    assert records["https://wire.example/copy"]["story_id"] == original["story_id"]
    [story] = list_stories(database)
    assert story["articles"] == 2 and story["sources"] == 1
    json.dumps(records)  # the export stays JSON


def test_exact_copy_and_distinct_story_the_next_week(
    database: Database, entities: EntityTable
) -> None:
    t0 = datetime(2025, 3, 16, 6, 0, tzinfo=UTC)
    later = (
        "Baidu said on Monday that its ERNIE X1 model is now part of its search app, a week "
        "after the launch, and reported that five million users had tried it. The company "
        "did not change its prices, which remain half those of DeepSeek-R1."
    )
    ids = _store(
        database,
        [
            ("https://wire.example/a", "Baidu frees ERNIE X1", BODY, t0, t0),
            (
                "https://wire.example/amp/a",
                "Baidu frees ERNIE X1",
                BODY,
                t0 + timedelta(minutes=1),
                t0 + timedelta(minutes=5),
            ),
            (
                "https://wire.example/b",
                "ERNIE X1 comes to Baidu search",
                later,
                t0 + timedelta(days=8),
                t0 + timedelta(days=8),
            ),
        ],
    )
    cluster_pending(database, entities, t0 + timedelta(days=8))
    amp = explain(database, str(ids["https://wire.example/amp/a"]))
    later_one = explain(database, str(ids["https://wire.example/b"]))
    assert amp is not None and later_one is not None
    assert amp["copy_method"] == "exact" and amp["copy_similarity"] == 1.0
    assert later_one["duplicate_of"] is None
    assert later_one["story_id"] != amp["story_id"]  # outside the 72-hour window


def test_an_article_without_names_or_numbers_opens_a_story_of_its_own(
    database: Database, entities: EntityTable
) -> None:
    t0 = datetime(2025, 3, 16, 6, 0, tzinfo=UTC)
    # Chinese text gives no word keys, and this one names nobody and counts nothing.
    plain = "今天天气很好，河边散步的人很多，大家聊着家常，一直到中午才回家。" * 3
    ids = _store(database, [("https://wire.example/plain", "平静的一天", plain, t0, t0)])
    report = cluster_pending(database, entities, t0)
    assert report.articles == 1 and report.new_stories == 1
    shown = explain(database, str(ids["https://wire.example/plain"]))
    assert shown is not None and shown["story_id"] is not None
