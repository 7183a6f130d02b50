"""Query indexes: event_terms (topics, entities and languages of events, for filters) and
article_search (full text of articles: FTS5 on SQLite, a GIN tsvector index on PostgreSQL),
and an index of articles by story and source.

Both are derived from rows that already exist; ``newswatch db upgrade`` fills them after
this revision (``pipeline.store.derived``), since the terms are cut by project code.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_terms",
        sa.Column("event_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_terms_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", "kind", "value", name=op.f("pk_event_terms")),
    )
    op.create_index("ix_event_terms_kind_value", "event_terms", ["kind", "value", "event_id"])
    # the sources of events, read without touching article rows (``newswatch stats``)
    op.create_index("ix_articles_story_source", "articles", ["story_id", "source_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.create_table(
            "article_search",
            sa.Column("article_id", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("body", sa.Text(), nullable=False),
            sa.ForeignKeyConstraint(
                ["article_id"],
                ["articles.id"],
                name="fk_article_search_article_id_articles",
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("article_id", name="pk_article_search"),
        )
        # Parsed once, when written: matching phrases and ranking read the stored vector
        # instead of parsing every candidate's text again at query time.
        op.execute(
            "ALTER TABLE article_search ADD COLUMN terms tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED"
        )
        op.execute("CREATE INDEX ix_article_search_terms ON article_search USING gin (terms)")
    else:
        # rowid is the article id; only the terms are stored (no copy of the article text).
        op.execute(
            "CREATE VIRTUAL TABLE article_search USING fts5("
            "body, tokenize = 'unicode61 remove_diacritics 2')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_table("article_search")
    else:
        op.execute("DROP TABLE article_search")
    op.drop_index("ix_articles_story_source", table_name="articles")
    op.drop_index("ix_event_terms_kind_value", table_name="event_terms")
    op.drop_table("event_terms")
