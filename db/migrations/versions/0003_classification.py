"""Classification: article labels and tracked events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(length=16), nullable=True),
        sa.Column("relevance", sa.Float(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("amounts", sa.JSON(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("articles", sa.Integer(), nullable=False),
        sa.Column("sources", sa.Integer(), nullable=False),
        sa.Column("langs", sa.JSON(), nullable=False),
        sa.Column("representative_id", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["id"], ["stories.id"], name=op.f("fk_events_id_stories"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["representative_id"],
            ["articles.id"],
            name=op.f("fk_events_representative_id_articles"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_first_seen"), ["first_seen"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_last_seen"), ["last_seen"], unique=False)

    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("topics", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("entities", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("amounts", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("unknown_names", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("relevance", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("classified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_articles_classified_at"), ["classified_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_articles_relevance"), ["relevance"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_articles_relevance"))
        batch_op.drop_index(batch_op.f("ix_articles_classified_at"))
        batch_op.drop_column("classified_at")
        batch_op.drop_column("relevance")
        batch_op.drop_column("unknown_names")
        batch_op.drop_column("amounts")
        batch_op.drop_column("entities")
        batch_op.drop_column("topics")

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_last_seen"))
        batch_op.drop_index(batch_op.f("ix_events_first_seen"))

    op.drop_table("events")
