"""Articles as export records (the field names are a contract: see ``pipeline.export``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from db.models import ArticleRow, SourceRow
from pipeline.store.database import Database


def iter_articles(
    db: Database, since: datetime | None = None, batch: int = 500
) -> Iterator[dict[str, Any]]:
    """Stored articles oldest first, as plain dicts; ``since`` filters on the publication date
    (the fetch time when the date is unknown)."""
    when = func.coalesce(ArticleRow.published_at, ArticleRow.fetched_at)
    original = aliased(ArticleRow)
    query = (
        select(
            ArticleRow.id,
            ArticleRow.url,
            ArticleRow.canonical_url,
            SourceRow.name.label("source"),
            ArticleRow.title,
            ArticleRow.lang,
            ArticleRow.published_at,
            ArticleRow.fetched_at,
            ArticleRow.text,
            ArticleRow.story_id,
            original.canonical_url.label("duplicate_of"),
            ArticleRow.topics,
            ArticleRow.relevance,
            ArticleRow.entities,
            ArticleRow.amounts,
        )
        .join(SourceRow, SourceRow.id == ArticleRow.source_id)
        .outerjoin(original, original.id == ArticleRow.duplicate_of)
        .order_by(ArticleRow.id)
    )
    if since is not None:
        query = query.where(when >= since)
    with db.connect() as conn:
        result = conn.execution_options(yield_per=batch).execute(query)
        for row in result:
            yield dict(row._mapping)
