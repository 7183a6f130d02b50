"""Classification: the seed, the labelled set's targets, tracked events, editing seeds/*.yaml."""

from __future__ import annotations

import shutil
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from benchmarks.classify import LABELS, evaluate, load
from db.models import ArticleRow, EventRow
from pipeline.classify import Classifier
from pipeline.cluster import cluster_pending
from pipeline.export import export_record
from pipeline.extract import fingerprint
from pipeline.records import Article, Entry, PageOutcome, Source
from pipeline.settings import SEEDS_DIR
from pipeline.store.database import Database, open_database
from pipeline.store.entries import register_entries, save_outcomes
from pipeline.store.export import iter_articles
from pipeline.store.labels import events_updated_since, unknown_name_counts
from pipeline.store.runs import start_run
from pipeline.store.sources import sync_sources
from pipeline.tracking import classify_pending, reclassify

SEED = SEEDS_DIR / "000_2d32b73d0aa229da.txt"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.from_seeds(SEEDS_DIR)


def test_the_seed_article_comes_out_as_the_issue_says(classifier: Classifier) -> None:
    title, _, text = SEED.read_text(encoding="utf-8").partition("\n")
    result = classifier.classify(title, text, "ko")
    assert result.relevance >= classifier.threshold
    assert {t.name for t in result.topics} == {"model_launch", "pricing", "investment"}
    whole = " ".join(unicodedata.normalize("NFKC", f"{title} {text}").split())
    assert all(t.evidence and t.evidence in whole for t in result.topics)  # quoted, not made up
    named = {name for name, kind, _, _ in result.entities if kind in ("company", "model")}
    assert len(named) >= 6
    assert {"DeepSeek", "Baidu", "ERNIE X1", "Tencent", "Hunyuan T1", "Meituan"} <= named
    usd = {a.value_usd for a in result.amounts if a.currency == "USD"}
    assert {1.0e11, 5.0e11} <= usd
    talk = [a for a in result.amounts if a.value_usd in (1.0e11, 5.0e11)]
    assert {a.modality for a in talk} == {"talk"}  # people talk of them: no commitment
    vague = [a for a in result.amounts if a.raw == "수십억달러"]
    assert vague and all(a.value is None and a.low == 1e9 and a.high == 1e10 for a in vague)


@pytest.mark.parametrize("split", ["dev", "holdout"])
def test_labelled_set_meets_the_targets(classifier: Classifier, split: str) -> None:
    """Targets of the issue, held on the split never tuned on (and on the dev split)."""
    result = evaluate(load(split), classifier)
    assert result["micro_f1"] >= 0.90
    for label in LABELS:
        assert result["labels"][label]["f1"] >= 0.85, label
    assert result["auc"] >= 0.95


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = open_database(db_url, upgrade=True)
    yield db
    db.dispose()


ARTICLES = [
    (
        "https://a.example/ernie",
        "Baidu launches ERNIE X1 at half the price of DeepSeek-R1",
        "Baidu on Sunday released its ERNIE X1 reasoning model and said it costs half as much "
        "as DeepSeek-R1. The AI model is free for individual users, and API prices start at 2 "
        "yuan per million tokens. Baidu also said it would invest 10 billion yuan in AI data "
        "centres.",
    ),
    (
        "https://b.example/ernie",
        "바이두, 추론모델 ‘어니 X1’ 공개…딥시크 R1 절반 가격",
        "바이두가 추론 AI 모델 어니 X1을 공개했다. 가격은 딥시크 R1의 절반 수준이며 "
        "개인 사용자는 무료로 쓸 수 있다. 바이두는 AI 데이터센터에 100억위안을 투자할 계획이다.",
    ),
    (
        "https://c.example/byd",
        "BYD cuts prices on 22 models as China's EV price war deepens",
        "BYD cut prices on 22 electric vehicles by up to 20 percent on Tuesday. Rivals including "
        "Geely are expected to follow, analysts said. Shares of the carmaker fell 4 percent.",
    ),
]


def _store(db: Database, now: datetime) -> None:
    ids = {
        k: v.id for k, v in sync_sources(db, [Source("wire", "https://w.example/rss")], now).items()
    }
    run = start_run(db, now)
    entries = [Entry("wire", u, u, t, published_at=now, lang=None) for u, t, _ in ARTICLES]
    register_entries(db, entries, ids, now)
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
                    lang="ko" if "바이두" in t else "en",
                    published_at=now,
                    fetched_at=now,
                    fingerprint=fingerprint(x),
                ),
            )
            for e, (u, t, x) in zip(entries, ARTICLES, strict=True)
        ],
        ids,
        run,
        3,
        now,
    )


def test_events_for_relevant_stories_only(database: Database, classifier: Classifier) -> None:
    now = datetime(2025, 3, 16, 8, 0, tzinfo=UTC)
    _store(database, now)
    cluster_pending(database, classifier.entities, now)
    report = classify_pending(database, classifier, now)
    assert report.articles == 3 and report.events_new == 1
    with database.connect() as conn:
        [event] = conn.execute(select(EventRow)).all()
        ernie = set(
            conn.execute(
                select(ArticleRow.id).where(ArticleRow.canonical_url.like("%/ernie"))
            ).scalars()
        )
    assert {t["name"] for t in event.topics} == {"model_launch", "pricing", "investment"}
    assert all(t["evidence"] and t["article_id"] for t in event.topics)
    assert event.articles == 2 and event.sources == 1 and event.langs == ["en", "ko"]
    assert {"Baidu", "ERNIE X1"} <= {e["name"] for e in event.entities}
    assert any(a["currency"] == "CNY" and a["unit"] == "per million tokens" for a in event.amounts)
    assert event.representative_id in ernie and event.revision == 1
    assert {t["article_id"] for t in event.topics} <= ernie
    assert event.first_seen == now
    records = {r["url"]: export_record(r) for r in iter_articles(database)}
    assert set(records["https://a.example/ernie"]["topics"]) == {
        "model_launch",
        "pricing",
        "investment",
    }
    assert records["https://c.example/byd"]["topics"] == []
    assert records["https://c.example/byd"]["relevance"] < classifier.threshold
    assert {"name": "ERNIE X1", "kind": "model"} in records["https://a.example/ernie"]["entities"]
    assert {a["value"] for a in records["https://b.example/ernie"]["amounts"]} >= {1.0e10}
    assert event.id == records["https://a.example/ernie"]["story_id"]
    assert event.id == records["https://b.example/ernie"]["story_id"]


def _copy_seeds(tmp_path: Path) -> Path:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for item in SEEDS_DIR.iterdir():
        if item.is_file():
            shutil.copy(item, seeds / item.name)
    return seeds


def test_a_new_topic_and_a_new_alias_by_editing_yaml(
    database: Database, tmp_path: Path, classifier: Classifier
) -> None:
    now = datetime(2025, 3, 16, 8, 0, tzinfo=UTC)
    _store(database, now)
    cluster_pending(database, classifier.entities, now)
    classify_pending(database, classifier, now)
    seeds = _copy_seeds(tmp_path)
    with (seeds / "topics.yaml").open("a", encoding="utf-8") as topics:
        topics.write(
            "  datacenters:\n"
            "    description: AI data-centre building.\n"
            "    anchored: true\n"
            "    threshold: 1.0\n"
            "    cues:\n"
            "      en: {data centres: 1.0, data centers: 1.0}\n"
            "      ko: {데이터센터: 1.0}\n"
        )
    with (seeds / "entities.yaml").open("a", encoding="utf-8") as entities:
        entities.write("  - {name: Geely, kind: company, aliases: [Geely, 지리자동차, 吉利]}\n")
    edited = Classifier.from_seeds(seeds)
    later = now + timedelta(hours=1)
    report = reclassify(database, edited, later)
    assert report.articles == 3 and report.events_changed == 1
    records = {r["url"]: export_record(r) for r in iter_articles(database)}
    assert "datacenters" in records["https://a.example/ernie"]["topics"]
    assert "datacenters" in records["https://b.example/ernie"]["topics"]
    assert {"name": "Geely", "kind": "company"} in records["https://c.example/byd"]["entities"]
    with database.connect() as conn:
        [event] = conn.execute(select(EventRow.topics, EventRow.revision)).all()
    assert "datacenters" in {t["name"] for t in event.topics} and event.revision == 2
    # Idempotent: the same files again change nothing, and the revision stays.
    again = reclassify(database, edited, later + timedelta(hours=1))
    assert again.events_changed == 0 and again.events_new == 0
    with database.connect() as conn:
        assert conn.execute(select(EventRow.revision)).scalar_one() == 2
    # "Updated" means changed: the digest after the idempotent pass sees only the real change.
    assert [e["revision"] for e in events_updated_since(database, later)] == [2]
    assert events_updated_since(database, later + timedelta(minutes=1)) == []


def test_unknown_model_names_are_listed(database: Database, classifier: Classifier) -> None:
    now = datetime(2025, 3, 16, 8, 0, tzinfo=UTC)
    ids = {
        k: v.id
        for k, v in sync_sources(database, [Source("wire", "https://w.example/rss")], now).items()
    }
    run = start_run(database, now)
    text = (
        "StepFun released Step-2 and its Step-1V vision model on Monday. The Shanghai AI "
        "start-up said Step-2 beats GPT-4o on coding tests."
    )
    entry = Entry("wire", "https://s.example/step", "https://s.example/step", "StepFun Step-2")
    register_entries(database, [entry], ids, now)
    save_outcomes(
        database,
        [
            PageOutcome(
                entry,
                article=Article(
                    url=entry.url,
                    final_url=entry.url,
                    canonical_url=entry.url,
                    source="wire",
                    title="StepFun releases Step-2",
                    text=text,
                    lang="en",
                    published_at=now,
                    fetched_at=now,
                    fingerprint=fingerprint(text),
                ),
            )
        ],
        ids,
        run,
        3,
        now,
    )
    classify_pending(database, classifier, now)
    names = {n["name"]: n["articles"] for n in unknown_name_counts(database)}
    assert names.get("Step-2") == 1 and "Step-1V" in names
    assert "GPT-4o" not in names  # known
