"""The read-only JSON API: events, one event, article search, stats.

Every handler is a plain function run in the server's thread pool; each answers with one or
two queries whatever the page size (no query per event).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BeforeValidator

from pipeline.headline import largest_investment_usd, lowest_price_usd
from pipeline.store.database import Database
from pipeline.store.events_query import EventFilter, count_events, event_detail, list_events
from pipeline.store.search import search_articles
from pipeline.store.stats import event_stats
from pipeline.web.schemas import ArticlePage, EventDetail, EventPage, Problem, Stats

router = APIRouter(prefix="/api", tags=["api"])

TopicName = Literal["model_launch", "pricing", "investment"]
#: Longest text parameter accepted (entity names, search text).
TEXT_MAX = 200
PAGE_MAX = 200
OFFSET_MAX = 1_000_000
ID_MAX = 2**31 - 1


def database(request: Request) -> Database:
    """The database the app was started with."""
    db: Database = request.app.state.db
    return db


#: Text parameters refuse NUL characters (PostgreSQL cannot compare them), in the schema.
NO_NUL = r"^[^\x00]*$"
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _text(value: str | None) -> str | None:
    """A text parameter, stripped; empty means not given."""
    return None if value is None else value.strip() or None


def _iso_day(value: object) -> object:
    """Days are written YYYY-MM-DD: pydantic would otherwise read "0" as a Unix time."""
    if isinstance(value, str) and not _DAY.fullmatch(value):
        raise ValueError("expected a day as YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]


def start_of(day: date | None) -> datetime | None:
    """Midnight UTC at the start of ``day``."""
    return None if day is None else datetime.combine(day, time.min, tzinfo=UTC)


def end_of(day: date | None) -> datetime | None:
    """The last instant of ``day`` in UTC: "until March 31" includes March 31."""
    return None if day is None else datetime.combine(day, time.max, tzinfo=UTC)


def event_filter(
    topic: str | None = None,
    entity: str | None = None,
    country: str | None = None,
    since: date | None = None,
    until: date | None = None,
    lang: str | None = None,
    min_sources: int = 1,
    limit: int = 50,
    offset: int = 0,
) -> EventFilter:
    """The filter of ``GET /api/events`` and of the dashboard's table."""
    return EventFilter(
        topic=topic,
        entity=_text(entity),
        country=country,
        since=start_of(since),
        until=end_of(until),
        lang=_text(lang),
        min_sources=min_sources,
        limit=limit,
        offset=offset,
    )


def with_headline(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its largest investment and lowest price in US dollars."""
    event["largest_investment_usd"] = largest_investment_usd(event["amounts"])
    event["lowest_price_usd"] = lowest_price_usd(event["amounts"])
    return event


Since = Annotated[
    Day | None, Query(description="events active on or after this day (YYYY-MM-DD, UTC)")
]
Until = Annotated[
    Day | None, Query(description="events begun on or before this day (inclusive, UTC)")
]


@router.get("/events", response_model=EventPage, summary="Tracked events, filtered, paginated")
def get_events(
    request: Request,
    topic: Annotated[TopicName | None, Query(description="one of the tracked topics")] = None,
    entity: Annotated[
        str | None,
        Query(
            max_length=TEXT_MAX, pattern=NO_NUL, description="a company or model name, e.g. Baidu"
        ),
    ] = None,
    country: Annotated[
        str | None,
        Query(
            pattern=r"^[A-Za-z]{2}$",
            description="naming a company (or its model) from this country: CN, US, KR, ...",
        ),
    ] = None,
    since: Since = None,
    until: Until = None,
    lang: Annotated[
        str | None,
        Query(
            max_length=16,
            pattern=NO_NUL,
            description="with an article in this language (ko, en, zh)",
        ),
    ] = None,
    min_sources: Annotated[int, Query(ge=1, le=10_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 50,
    offset: Annotated[int, Query(ge=0, le=OFFSET_MAX)] = 0,
) -> dict[str, Any]:
    """Tracked events, latest activity first: the same filters as `newswatch events`."""
    wanted = event_filter(topic, entity, country, since, until, lang, min_sources, limit, offset)
    db = database(request)
    items = [with_headline(event) for event in list_events(db, wanted)]
    total = count_events(db, wanted)
    more = offset + len(items) < total
    return {
        "items": items,
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + len(items) if more else None,
    }


@router.get(
    "/events/{event_id}",
    response_model=EventDetail,
    responses={404: {"model": Problem, "description": "no such event"}},
    summary="One tracked event with its articles and evidence",
)
def get_event(request: Request, event_id: Annotated[int, Path(ge=1, le=ID_MAX)]) -> dict[str, Any]:
    """One event: its topics with evidence, entities, amounts and articles (copies marked)."""
    event = event_detail(database(request), event_id)
    if event is None:
        raise HTTPException(status_code=404, detail=f"no tracked event {event_id}")
    return with_headline(event)


@router.get("/articles", response_model=ArticlePage, summary="Full-text search over articles")
def get_articles(
    request: Request,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=TEXT_MAX,
            description="words that must all appear (Korean and Chinese too, e.g. 降价, 딥시크)",
        ),
    ],
    lang: Annotated[str | None, Query(max_length=16, pattern=NO_NUL)] = None,
    since: Since = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 20,
    offset: Annotated[int, Query(ge=0, le=OFFSET_MAX)] = 0,
) -> dict[str, Any]:
    """Articles holding every word of `q`, best match first, with a snippet."""
    page = search_articles(
        database(request),
        q,
        lang=_text(lang),
        since=start_of(since),
        limit=limit,
        offset=offset,
    )
    return {
        "query": q,
        "items": page.items,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + len(page.items) if page.has_more else None,
    }


@router.get("/stats", response_model=Stats, summary="Events per topic per day, and per source")
def get_stats(request: Request, since: Since = None) -> dict[str, Any]:
    """Counts for the dashboard's timeline: events per topic by the day they began."""
    return event_stats(database(request), start_of(since))
