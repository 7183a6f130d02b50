"""Read models for people: story listings and the explanation of one article's placement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from db.models import ArticleRow, SourceRow, StoryRow
from pipeline.store.database import Database

_WHEN = func.coalesce(ArticleRow.published_at, ArticleRow.fetched_at)


def list_stories(
    db: Database, since: datetime | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Stories, latest activity first, with article, source and language counts."""
    query = select(
        StoryRow.id,
        StoryRow.title,
        StoryRow.lang,
        StoryRow.first_seen,
        StoryRow.last_seen,
        StoryRow.articles,
        StoryRow.sources,
        StoryRow.langs,
    )
    if since is not None:
        query = query.where(StoryRow.last_seen >= since)
    query = query.order_by(StoryRow.last_seen.desc(), StoryRow.id.desc()).limit(limit)
    with db.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def _article(conn: Any, ident: int) -> dict[str, Any] | None:
    original = aliased(ArticleRow)
    row = conn.execute(
        select(
            ArticleRow.id,
            ArticleRow.title,
            ArticleRow.canonical_url,
            ArticleRow.lang,
            SourceRow.name.label("source"),
            ArticleRow.published_at,
            ArticleRow.fetched_at,
            ArticleRow.duplicate_of,
            ArticleRow.copy_method,
            ArticleRow.copy_similarity,
            original.canonical_url.label("original_url"),
            ArticleRow.story_id,
            ArticleRow.story_score,
            ArticleRow.story_evidence,
            ArticleRow.clustered_at,
            ArticleRow.topics,
            ArticleRow.entities,
            ArticleRow.amounts,
            ArticleRow.relevance,
            ArticleRow.classified_at,
        )
        .join(SourceRow, SourceRow.id == ArticleRow.source_id)
        .outerjoin(original, original.id == ArticleRow.duplicate_of)
        .where(ArticleRow.id == ident)
    ).first()
    return dict(row._mapping) if row else None


def explain(db: Database, reference: str) -> dict[str, Any] | None:
    """An article (by id or URL) with its copy decision, its story and the story's members."""
    with db.connect() as conn:
        ident: int | None = int(reference) if reference.isdigit() else None
        if ident is None:
            ident = conn.execute(
                select(ArticleRow.id).where(
                    or_(
                        ArticleRow.canonical_url == reference,
                        ArticleRow.url == reference,
                        ArticleRow.final_url == reference,
                    )
                )
            ).scalar()
            if ident is None:
                return None
        article = _article(conn, ident)
        if article is None:
            return None
        article["copies"] = [
            dict(r._mapping)
            for r in conn.execute(
                select(
                    ArticleRow.id,
                    ArticleRow.canonical_url,
                    ArticleRow.copy_method,
                    ArticleRow.copy_similarity,
                )
                .where(ArticleRow.duplicate_of == ident)
                .order_by(ArticleRow.id)
            )
        ]
        story = None
        if article["story_id"] is not None:
            row = conn.execute(
                select(
                    StoryRow.id,
                    StoryRow.title,
                    StoryRow.first_seen,
                    StoryRow.last_seen,
                    StoryRow.articles,
                    StoryRow.sources,
                    StoryRow.langs,
                ).where(StoryRow.id == article["story_id"])
            ).first()
            if row is not None:
                story = dict(row._mapping)
                story["members"] = [
                    dict(r._mapping)
                    for r in conn.execute(
                        select(
                            ArticleRow.id,
                            ArticleRow.title,
                            ArticleRow.lang,
                            SourceRow.name.label("source"),
                            _WHEN.label("when"),
                            ArticleRow.duplicate_of,
                        )
                        .join(SourceRow, SourceRow.id == ArticleRow.source_id)
                        .where(ArticleRow.story_id == article["story_id"])
                        .order_by(_WHEN, ArticleRow.id)
                    )
                ]
        article["story"] = story
        return article
