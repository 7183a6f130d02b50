"""Full-text search: terms for English, Korean and Chinese; the index on real SQLite (FTS5)
and PostgreSQL (GIN tsvector), filled when articles are stored and after an upgrade."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from db import migrate
from db.models import SEARCH_TABLE, StoryRow
from pipeline.fulltext import Phrase, fts5_match, parse_query, snippet, terms, tsquery
from pipeline.records import Article, Entry, PageOutcome, Source
from pipeline.store.database import Database, open_database
from pipeline.store.entries import register_entries, save_outcomes
from pipeline.store.runs import start_run
from pipeline.store.search import search_articles
from pipeline.store.sources import sync_sources

NOW = datetime(2025, 3, 26, 3, 0, tzinfo=UTC)

PAGES = {
    "price-cut": (
        "en",
        "Baidu halves ERNIE prices as China's AI price war deepens",
        "Baidu said on Monday it would cut the price of ERNIE 4.5 by half. "
        "Analysts called it the sharpest price cut since DeepSeek-R1.",
    ),
    "zh-cut": (
        "zh",
        "百度文心大模型全面降价",
        "百度宣布文心大模型4.5全面降价，输入价格降至每百万tokens 4元。业内人士认为价格战仍将持续。",
    ),
    "ko-launch": (
        "ko",
        "딥시크가 새 모델을 공개했다",
        "중국 AI 스타트업 딥시크가 20일 추론 모델을 공개했다. 알리바바도 큐원 신모델을 내놨다.",
    ),
    "unrelated": (
        "en",
        "Local bakery wins award",
        "The bakery on Main Street won a regional award for its sourdough bread.",
    ),
}


# --------------------------------------------------------------------------- terms


def test_latin_words_are_case_folded_terms() -> None:
    assert terms("DeepSeek cuts GPT-4o prices") == ["deepseek", "cuts", "gpt", "4o", "prices"]


def test_chinese_and_korean_runs_become_overlapping_bigrams() -> None:
    assert terms("全面降价") == ["全面", "面降", "降价"]
    assert terms("딥시크가") == ["딥시", "시크", "크가"]
    assert terms("降") == ["降"]
    # scripts are cut apart where they meet
    assert terms("豆包1.5Pro发布") == ["豆包", "1", "5pro", "发布"]


def test_overlong_tokens_are_dropped() -> None:
    assert terms("a" * 41 + " kept") == ["kept"]


def test_query_phrases_and_prefix_for_a_lone_cjk_character() -> None:
    assert parse_query("딥시크 price") == [Phrase(("딥시", "시크")), Phrase(("price",))]
    assert parse_query("降") == [Phrase(("降",), prefix=True)]
    assert parse_query("... !!! ???") == []
    assert parse_query("war war WAR") == [Phrase(("war",))]


def test_query_syntax_in_user_text_never_reaches_the_engines() -> None:
    phrases = parse_query('"AND" OR NEAR( x* \' :* | ! \\ -')
    assert fts5_match(phrases) == '"and" AND "or" AND "near" AND "x"'
    assert tsquery(phrases) == "('and') & ('or') & ('near') & ('x')"
    assert tsquery(parse_query("降")) == "('降':*)"


def test_snippet_is_cut_around_the_first_match() -> None:
    body = "x" * 300 + " 百度宣布全面降价 " + "y" * 300
    shown = snippet(body, parse_query("降价"), width=40)
    assert "降价" in shown and shown.startswith("…") and shown.endswith("…")
    assert len(shown) <= 42


# --------------------------------------------------------------------------- the index


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = open_database(db_url, upgrade=True)
    yield db
    db.dispose()


def _store(db: Database, pages: dict[str, tuple[str, str, str]]) -> None:
    source = Source("wire", "http://wire.test/feed")
    ids = {k: v.id for k, v in sync_sources(db, [source], NOW).items()}
    run = start_run(db, NOW)
    entries = [
        Entry(
            source="wire",
            url=f"http://wire.test/{slug}",
            link=f"http://wire.test/{slug}",
            title=title,
            published_at=NOW,
        )
        for slug, (_lang, title, _text) in pages.items()
    ]
    register_entries(db, entries, ids, NOW)
    outcomes = []
    for (slug, (lang, title, body)), entry in zip(pages.items(), entries, strict=True):
        when = NOW - timedelta(days=len(outcomes))
        article = Article(
            url=entry.url,
            final_url=entry.url,
            canonical_url=entry.url,
            source="wire",
            title=title,
            text=body,
            lang=lang,
            published_at=when,
            fetched_at=NOW,
            fingerprint=slug.ljust(64, "0"),
        )
        outcomes.append(PageOutcome(entry, article=article))
    save_outcomes(db, outcomes, ids, run, 3, NOW)


def _found(db: Database, query: str, **options: object) -> list[str]:
    page = search_articles(db, query, **options)  # type: ignore[arg-type]
    return [item["url"].rsplit("/", 1)[1] for item in page.items]


def test_stored_articles_are_found_in_three_languages(database: Database) -> None:
    _store(database, PAGES)
    assert _found(database, "price cut") == ["price-cut"]
    assert _found(database, "PRICE") == ["price-cut"]
    assert _found(database, "降价") == ["zh-cut"]  # inside 全面降价
    assert _found(database, "价格战") == ["zh-cut"]
    assert _found(database, "딥시크") == ["ko-launch"]  # 딥시크가, particle attached
    assert _found(database, "큐원") == ["ko-launch"]
    assert _found(database, "降") == ["zh-cut"]  # one character: prefix of 降价, 降至
    assert _found(database, "sourdough price") == []  # every word must be there
    assert _found(database, "bread") == ["unrelated"]
    assert _found(database, "!!!") == []


def test_search_filters_pages_and_snippets(database: Database) -> None:
    _store(database, PAGES)
    assert _found(database, "award", lang="ko") == []
    assert _found(database, "award", lang="en") == ["unrelated"]
    # "unrelated" was stored 3 days before NOW, "price-cut" on NOW
    assert _found(database, "the", since=NOW - timedelta(days=1)) == ["price-cut"]
    first = search_articles(database, "the", limit=1)
    assert len(first.items) == 1 and first.has_more
    second = search_articles(database, "the", limit=1, offset=1)
    assert not second.has_more
    assert {first.items[0]["id"], second.items[0]["id"]} == {
        i["id"] for i in search_articles(database, "the").items
    }
    hit = search_articles(database, "sharpest").items[0]
    assert "sharpest" in hit["snippet"] and hit["source"] == "wire"
    assert hit["published_at"].tzinfo is not None


@pytest.mark.parametrize("query", ['"', "AND", "NEAR(", "*", "'", "\\", ":*", "a & b | !c", "-x"])
def test_hostile_query_text_is_no_error(database: Database, query: str) -> None:
    _store(database, PAGES)
    search_articles(database, query)  # no exception on either engine


def test_storing_the_same_url_again_indexes_it_once(database: Database) -> None:
    _store(database, PAGES)
    _store(database, PAGES)
    with database.connect() as conn:
        rows = conn.execute(text(f"SELECT count(*) FROM {SEARCH_TABLE}")).scalar()
    assert rows == len(PAGES)


def test_upgrade_from_0005_fills_the_search_index_and_event_terms(db_url: str) -> None:
    """Articles and events stored before revision 0006 become searchable and filterable."""
    db = open_database(db_url, upgrade=True)
    try:
        _store(db, PAGES)
        _event(db, story_id=_id_of(db, "price-cut"))
        migrate.upgrade(db.engine, "0005")  # back to before the query indexes
        with db.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 1
    finally:
        db.dispose()
    db = open_database(db_url, upgrade=True)
    try:
        assert _found(db, "降价") == ["zh-cut"]
        assert len(search_articles(db, "the").items) == 2
        from pipeline.store.events_query import EventFilter, list_events

        assert [e["id"] for e in list_events(db, EventFilter(entity="baidu"))] == [
            _id_of(db, "price-cut")
        ]
        assert list_events(db, EventFilter(topic="investment")) == []
    finally:
        db.dispose()


def _id_of(db: Database, slug: str) -> int:
    with db.connect() as conn:
        found = conn.execute(
            text("SELECT id FROM articles WHERE url = :u"), {"u": f"http://wire.test/{slug}"}
        ).scalar_one()
    return int(found)


def _event(db: Database, story_id: int) -> None:
    """An event row as classification writes it (through the store's own save_event)."""
    from pipeline.events import Event
    from pipeline.store.labels import save_event

    event = Event(
        id=story_id,
        title="Baidu halves ERNIE prices",
        lang="en",
        relevance=0.9,
        topics=[{"name": "pricing", "score": 1.0, "evidence": "cut the price", "article_id": 1}],
        entities=[{"name": "Baidu", "kind": "company", "articles": 1}],
        amounts=[],
        first_seen=NOW,
        last_seen=NOW,
        articles=1,
        sources=1,
        langs=["en"],
        representative_id=story_id,
    )
    with db.begin() as conn:
        conn.execute(
            insert(StoryRow).values(
                id=story_id,
                title="t",
                lang="en",
                first_seen=NOW,
                last_seen=NOW,
                articles=1,
                sources=1,
                langs=["en"],
                updated_at=NOW,
            )
        )
        save_event(conn, db, story_id, event, NOW)


def test_search_command_as_table_and_json(tmp_path: Path) -> None:
    from tests.test_cli import newswatch

    url = f"sqlite:///{tmp_path / 'search.db'}"
    db = open_database(url, upgrade=True)
    try:
        _store(db, PAGES)
    finally:
        db.dispose()
    listed = newswatch("search", "价格战", "--db", url, "--json")
    assert listed.returncode == 0, listed.stderr
    hits = json.loads(listed.stdout)
    assert [h["url"] for h in hits] == ["http://wire.test/zh-cut"]
    assert "价格战" in hits[0]["snippet"]
    table = newswatch("search", "딥시크", "--db", url)
    assert table.returncode == 0, table.stderr
    assert "1 articles matching '딥시크'" in table.stdout and "딥시크가 새 모델을" in table.stdout
    empty = newswatch("search", "???", "--db", url)
    assert empty.returncode == 0 and "nothing to search for" in empty.stderr
