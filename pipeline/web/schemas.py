"""The shapes the HTTP API answers with; they are its OpenAPI schema."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class Topic(BaseModel):
    """A topic of an event or article, with the sentence that shows it."""

    model_config = ConfigDict(extra="allow")

    name: str
    score: float | None = None
    evidence: str | None = None
    article_id: int | None = None


class Entity(BaseModel):
    """A company, model, product or organisation named by the event's articles."""

    model_config = ConfigDict(extra="allow")

    name: str
    kind: str | None = None
    articles: int | None = None
    country: str | None = None


class Amount(BaseModel):
    """A money amount: a price, an investment pledge, a funding round."""

    model_config = ConfigDict(extra="allow")

    raw: str | None = None
    value: float | None = None
    currency: str | None = None
    value_usd: float | None = None
    kind: str | None = None
    modality: str | None = None
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    article_id: int | None = None


class EventSummary(BaseModel):
    """A tracked event as listed."""

    id: int
    title: str
    lang: str | None
    relevance: float
    topics: list[Topic]
    entities: list[Entity]
    amounts: list[Amount]
    first_seen: datetime
    last_seen: datetime
    articles: int
    sources: int
    langs: list[str]
    revision: int
    updated_at: datetime
    largest_investment_usd: float | None = None
    lowest_price_usd: float | None = None


class EventPage(BaseModel):
    """One page of events, latest activity first."""

    items: list[EventSummary]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class EventArticle(BaseModel):
    """An article of an event, with how it was found to be a copy, if it is one."""

    id: int
    url: str
    title: str
    lang: str | None
    published_at: datetime | None
    source: str
    duplicate_of: int | None
    copy_method: str | None
    copy_similarity: float | None
    topics: list[Topic]
    amounts: list[Amount]


class EventDetail(EventSummary):
    """One event with its articles."""

    article_list: list[EventArticle]


class ArticleHit(BaseModel):
    """An article found by full-text search."""

    id: int
    title: str
    url: str
    lang: str | None
    published_at: datetime | None
    fetched_at: datetime
    story_id: int | None
    duplicate_of: int | None
    source: str
    snippet: str
    score: float


class ArticlePage(BaseModel):
    """One page of search results, best first."""

    query: str
    items: list[ArticleHit]
    limit: int
    offset: int
    next_offset: int | None


class TopicDay(BaseModel):
    """How many events of a topic began on a day."""

    day: str
    topic: str
    events: int


class SourceCount(BaseModel):
    """How many events a source reported."""

    source: str
    events: int


class Stats(BaseModel):
    """Events per topic per day, and per source."""

    per_topic_per_day: list[TopicDay]
    per_source: list[SourceCount]


class Problem(BaseModel):
    """An error."""

    detail: str
