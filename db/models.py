"""Database schema of newswatch (SQLAlchemy 2 typed models).

Tables use the vocabulary of ``pipeline.records``: sources, entries, articles, runs, failures.
Uniqueness is enforced here, not only in memory: one source per name, one entry per normalized
URL, one article per canonical URL. Every datetime is stored as UTC and read back timezone-aware.
Schema changes ship with an Alembic revision in ``db/migrations/versions``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.limits import ETAG_MAX, LANG_MAX, LAST_MODIFIED_MAX, URL_MAX

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (no zone support) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with the constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class SourceRow(Base):
    """A declared source and its feed state (validators, health)."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(URL_MAX))
    kind: Mapped[str] = mapped_column(String(20), default="feed")
    lang: Mapped[str | None] = mapped_column(String(LANG_MAX))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    etag: Mapped[str | None] = mapped_column(String(ETAG_MAX))
    last_modified: Mapped[str | None] = mapped_column(String(LAST_MODIFIED_MAX))
    last_polled_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class RunRow(Base):
    """One collect run: when, what it did, and its per-source summary."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="collect")
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    sources_path: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="running")
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    sources: Mapped[int] = mapped_column(Integer, default=0)
    entries: Mapped[int] = mapped_column(Integer, default=0)
    new_articles: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class EntryRow(Base):
    """An entry URL announced by a source, and what became of it."""

    __tablename__ = "entries"
    __table_args__ = (Index("ix_entries_state_attempts", "state", "attempts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(URL_MAX), unique=True)
    link: Mapped[str] = mapped_column(Text)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None]
    lang: Mapped[str | None] = mapped_column(String(LANG_MAX))
    robots: Mapped[bool] = mapped_column(default=True)
    # pending: to fetch; stored: article_id set; failed: given up (permanent or out of attempts)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_reason: Mapped[str | None] = mapped_column(String(40))
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL"), index=True
    )
    first_seen_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ArticleRow(Base):
    """An extracted article; one per canonical URL."""

    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_published_at", "published_at"),
        Index("ix_articles_fetched_at", "fetched_at"),
        Index("ix_articles_story_source", "story_id", "source_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    canonical_url: Mapped[str] = mapped_column(String(URL_MAX), unique=True)
    url: Mapped[str] = mapped_column(Text)
    final_url: Mapped[str] = mapped_column(Text)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(LANG_MAX))
    published_at: Mapped[datetime | None]
    fetched_at: Mapped[datetime]
    author: Mapped[str | None] = mapped_column(Text)
    site_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    # Deduplication: a copy points at the earliest published copy (the original).
    duplicate_of: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL"), index=True
    )
    copy_method: Mapped[str | None] = mapped_column(String(16))  # exact | near
    copy_similarity: Mapped[float | None] = mapped_column(Float)
    # Clustering: the story this article reports, and why it joined it.
    story_id: Mapped[int | None] = mapped_column(
        ForeignKey("stories.id", ondelete="SET NULL"), index=True
    )
    story_score: Mapped[float | None] = mapped_column(Float)
    story_evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    clustered_at: Mapped[datetime | None] = mapped_column(index=True)
    # Classification: topics with evidence, entities, amounts, relevance to the seeds.
    topics: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    entities: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    amounts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    unknown_names: Mapped[list[str] | None] = mapped_column(JSON)
    relevance: Mapped[float | None] = mapped_column(Float, index=True)
    classified_at: Mapped[datetime | None] = mapped_column(index=True)


class StoryRow(Base):
    """A story: the articles that report one real-world happening. Its id is the id of the
    article that opened it, so re-clustering the same articles gives the same ids."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(Text, default="")
    lang: Mapped[str | None] = mapped_column(String(LANG_MAX))
    first_seen: Mapped[datetime] = mapped_column(index=True)
    last_seen: Mapped[datetime] = mapped_column(index=True)
    articles: Mapped[int] = mapped_column(Integer, default=0)
    sources: Mapped[int] = mapped_column(Integer, default=0)
    langs: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime]


class EventRow(Base):
    """A tracked event: a story relevant to the seeds, with what it reports and its evidence.

    ``revision`` grows when the event changes materially (a new topic, a new amount, more
    sources); ``digest`` is the fingerprint of that material content.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    title: Mapped[str] = mapped_column(Text, default="")
    lang: Mapped[str | None] = mapped_column(String(LANG_MAX))
    relevance: Mapped[float] = mapped_column(Float)
    topics: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    entities: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    amounts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    first_seen: Mapped[datetime] = mapped_column(index=True)
    last_seen: Mapped[datetime] = mapped_column(index=True)
    articles: Mapped[int] = mapped_column(Integer, default=0)
    sources: Mapped[int] = mapped_column(Integer, default=0)
    langs: Mapped[list[str]] = mapped_column(JSON, default=list)
    representative_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL")
    )
    revision: Mapped[int] = mapped_column(Integer, default=1)
    digest: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(index=True)


class EventTermRow(Base):
    """What an event can be filtered by: one row per topic, entity name and language.

    The event keeps these in JSON columns for display; this table is their index, so that
    "pricing events naming Baidu" is found by key lookups instead of reading every event.
    Values are case-folded. Rewritten with the event.
    """

    __tablename__ = "event_terms"
    __table_args__ = (Index("ix_event_terms_kind_value", "kind", "value", "event_id"),)

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # topic|entity|country|lang
    value: Mapped[str] = mapped_column(String(200), primary_key=True)


#: The full-text index of articles (``pipeline.fulltext`` terms). Not a model: on SQLite it is
#: an FTS5 virtual table (with shadow tables named after it), on PostgreSQL a table with a GIN
#: index on its tsvector; migration 0006 creates the right one.
SEARCH_TABLE = "article_search"


class StoryKeyRow(Base):
    """What a story is about (entities, amounts, codes) on each day it had articles.

    Indexed by (kind, value, day): finding the stories that name DeepSeek within the time
    window reads only the rows of those days, however many DeepSeek stories older days hold.
    """

    __tablename__ = "story_keys"
    __table_args__ = (Index("ix_story_keys_kind_value_day", "kind", "value", "day"),)

    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)  # days since 1970-01-01 UTC


class SketchRow(Base):
    """The MinHash sketch of an article's text."""

    __tablename__ = "article_sketches"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    minhash: Mapped[bytes] = mapped_column(LargeBinary)


class BandRow(Base):
    """LSH band keys of a sketch: articles sharing a key are near-duplicate candidates."""

    __tablename__ = "article_bands"

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class FailureRow(Base):
    """A per-item failure of a run, with its typed reason."""

    __tablename__ = "failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)
    status: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime]


class BackfillWindowRow(Base):
    """One day of one history source that a backfill has finished: never done again."""

    __tablename__ = "backfill_windows"
    __table_args__ = (UniqueConstraint("source_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    entries: Mapped[int] = mapped_column(Integer, default=0)
    new_articles: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime]


class AlertRow(Base):
    """One alert in the outbox: a message about one event for one rule on one channel.

    The unique key (rule, event, revision, channel) makes each alert exist once, however many
    runs see the event; ``revision`` is 1 for the first alert, then one more per follow-up.
    The channel is kept as its index in the rule and a redacted form: never a secret.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("rule", "event_id", "revision", "channel"),
        Index("ix_alerts_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[int] = mapped_column(Integer, index=True)
    revision: Mapped[int] = mapped_column(Integer)
    channel: Mapped[int] = mapped_column(Integer)
    channel_shown: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
