"""Full-text search over articles: the ``article_search`` index and its queries.

SQLite keeps the terms in an FTS5 table (rowid = article id, ranked by bm25); PostgreSQL in
a table whose stored ``terms`` tsvector (``to_tsvector('simple', body)``) has a GIN index
(ranked by ts_rank). Both hold
the terms of ``pipeline.fulltext``, so Korean and Chinese are found by bigrams on both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Text,
    column,
    delete,
    exists,
    func,
    insert,
    literal_column,
    select,
    table,
)
from sqlalchemy.sql.expression import ColumnClause, TableClause

from db.models import SEARCH_TABLE, ArticleRow, SourceRow
from pipeline.fulltext import Phrase, fts5_match, index_body, parse_query, snippet, tsquery
from pipeline.store.database import Database

_BATCH = 500


def _index(dialect: str) -> tuple[TableClause, ColumnClause[int]]:
    """The index table as Core sees it, and its article-id column."""
    if dialect == "postgresql":
        index = table(SEARCH_TABLE, column("article_id", Integer), column("body", Text))
        return index, index.c.article_id  # its ``terms`` tsvector is generated from body
    index = table(SEARCH_TABLE, column("rowid", Integer), column("body", Text))
    return index, index.c.rowid


def index_articles(conn: Connection, articles: Iterable[tuple[int, str, str]]) -> int:
    """Add (id, title, text) articles to the index, replacing what it held for them."""
    index, key = _index(conn.dialect.name)
    rows = [
        {key.name: i, "body": index_body(title or "", body or "")} for i, title, body in articles
    ]
    for start in range(0, len(rows), _BATCH):
        chunk = rows[start : start + _BATCH]
        conn.execute(delete(index).where(key.in_([row[key.name] for row in chunk])))
        conn.execute(insert(index), chunk)
    return len(rows)


def index_missing(db: Database) -> int:
    """Index every article the index lacks (after an upgrade); returns how many."""
    _table, key = _index(db.dialect)
    done = 0
    after = 0
    while True:
        missing = (
            select(ArticleRow.id, ArticleRow.title, ArticleRow.text)
            .where(ArticleRow.id > after, ~exists().where(key == ArticleRow.id))
            .order_by(ArticleRow.id)
            .limit(2000)
        )
        with db.begin() as conn:
            rows = [(r.id, r.title, r.text) for r in conn.execute(missing)]
            if not rows:
                return done
            done += index_articles(conn, rows)
        after = rows[-1][0]


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of search results, best first."""

    query: str
    phrases: list[Phrase]
    items: list[dict[str, Any]]
    offset: int
    limit: int
    has_more: bool


#: The text search configuration the stored ``terms`` vector was made with (migration 0006).
_SIMPLE: ColumnClause[str] = literal_column("'simple'")


def search_articles(
    db: Database,
    query: str,
    *,
    lang: str | None = None,
    since: datetime | None = None,
    limit: int = 20,
    offset: int = 0,
) -> SearchPage:
    """Articles holding every word of ``query``, best match first; one page of them."""
    phrases = parse_query(query)
    if not phrases:
        return SearchPage(query, phrases, [], offset, limit, False)
    index, key = _index(db.dialect)
    if db.dialect == "postgresql":
        vector: ColumnClause[Any] = literal_column(f"{SEARCH_TABLE}.terms")  # GIN-indexed
        wanted = func.to_tsquery(_SIMPLE, tsquery(phrases))
        score: ColumnElement[float] = func.ts_rank(vector, wanted)
        matches = vector.op("@@")(wanted)
    else:
        score = -func.bm25(literal_column(SEARCH_TABLE))
        matches = literal_column(SEARCH_TABLE).op("MATCH")(fts5_match(phrases))
    stmt = (
        select(
            ArticleRow.id,
            ArticleRow.title,
            ArticleRow.url,
            ArticleRow.lang,
            ArticleRow.published_at,
            ArticleRow.fetched_at,
            ArticleRow.story_id,
            ArticleRow.duplicate_of,
            ArticleRow.text,
            SourceRow.name.label("source"),
            score.label("score"),
        )
        .select_from(index)
        .join(ArticleRow, ArticleRow.id == key)
        .join(SourceRow, SourceRow.id == ArticleRow.source_id)
        .where(matches)
    )
    if lang:
        stmt = stmt.where(ArticleRow.lang == lang)
    if since is not None:
        stmt = stmt.where(func.coalesce(ArticleRow.published_at, ArticleRow.fetched_at) >= since)
    stmt = stmt.order_by(literal_column("score").desc(), ArticleRow.id.desc())
    stmt = stmt.limit(limit + 1).offset(offset)
    items: list[dict[str, Any]] = []
    with db.connect() as conn:
        for row in conn.execute(stmt):
            item = dict(row._mapping)
            item["snippet"] = snippet(item.pop("text") or "", phrases)
            item["score"] = round(float(item["score"]), 4)
            items.append(item)
    has_more = len(items) > limit
    return SearchPage(query, phrases, items[:limit], offset, limit, has_more)
