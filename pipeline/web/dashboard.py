"""The dashboard: the timeline and events table at ``/``, one event's page at ``/events/{id}``.

``/`` is a page shell: static JS (``static/dashboard.js``, ``static/timeline.js``) draws the
timeline from ``/api/stats`` and fills the table from ``/api/events``, writing feed text only
with ``textContent``. ``/events/{id}`` is rendered here with Jinja2 autoescaping. Titles,
evidence and URLs come from feeds and may carry hostile markup; they are never marked safe,
and an article URL becomes a link only when it is http or https (feeds carry ``javascript:``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline.headline import short_usd as usd
from pipeline.store.events_query import EventFilter, event_detail, list_events
from pipeline.web.api import ID_MAX, database

router = APIRouter(include_in_schema=False)

TEMPLATES = Path(__file__).resolve().parent / "templates"

#: The tracked topics in the order the timeline stacks them, with their labels.
TOPICS = {"model_launch": "Model launch", "pricing": "Pricing", "investment": "Investment"}
LANGUAGES = {"en": "English", "ko": "Korean", "zh": "Chinese", "ja": "Japanese"}
#: Countries of companies (``country:`` in seeds/entities.yaml) offered by the filter.
COUNTRIES = {"CN": "China", "US": "United States", "KR": "South Korea", "JP": "Japan"}
#: Entity kinds in the order an event page lists them.
ENTITY_KINDS = {"company": "Companies", "model": "Models", "product": "Products", "org": "Orgs"}
#: The entity suggestions (and language choices) come from this many latest events: enough
#: for the names analysts type, one query whatever the size of the database.
SUGGESTION_EVENTS = 500
HTML_TYPE = "text/html; charset=utf-8"


def link_target(url: object) -> str | None:
    """``url`` if it may be a link (http or https with a host); ``None`` for anything else.

    Feeds carry ``javascript:`` and ``data:`` URLs, sometimes disguised with control
    characters or blanks that browsers drop; a URL holding any of those is never a link.
    """
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def amount_usd(amount: Mapping[str, Any]) -> str:
    """An amount in dollars, or its range (``$1B–$10B``) when only bounds are known."""
    if amount.get("value_usd") is not None:
        return usd(amount["value_usd"])
    low, high = amount.get("low"), amount.get("high")
    if low is not None and high is not None and amount.get("currency") == "USD":
        return f"{usd(low)}–{usd(high)}"
    return ""


def when(moment: datetime | None) -> str:
    """A stored (UTC) time as ``2025-03-26 01:00 UTC``."""
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def day(moment: datetime | None) -> str:
    """A stored (UTC) time as its day, ``2025-03-26``."""
    return "" if moment is None else f"{moment:%Y-%m-%d}"


def language(code: str | None) -> str:
    """``Korean (ko)`` for a language code."""
    if not code:
        return "unknown"
    name = LANGUAGES.get(code)
    return f"{name} ({code})" if name else code


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its name: feed text is hostile
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(usd=usd, amount_usd=amount_usd, when=when, day=day, language=language)
    env.globals.update(link_target=link_target, topic_labels=TOPICS)
    return env


def _templates(request: Request) -> Environment:
    """The app's template environment, made on first use (kept per app, not per process)."""
    env: Environment | None = getattr(request.app.state, "dashboard_templates", None)
    if env is None:
        env = request.app.state.dashboard_templates = _environment()
    return env


def _page(
    request: Request, name: str, context: Mapping[str, Any], status: int = 200
) -> HTMLResponse:
    html = _templates(request).get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, media_type=HTML_TYPE)


def suggestions(
    events: Iterable[Mapping[str, Any]],
) -> tuple[list[dict[str, str]], list[str], list[str]]:
    """Entity names (most often named first, one spelling each), languages and countries of
    ``events``."""
    names: Counter[str] = Counter()
    spelling: dict[str, tuple[str, str]] = {}
    langs: set[str] = set()
    countries: set[str] = set()
    for event in events:
        for entity in event.get("entities") or ():
            name = str(entity.get("name") or "").strip()
            if name:
                names[name.casefold()] += 1
                spelling.setdefault(name.casefold(), (name, str(entity.get("kind") or "")))
            if entity.get("country"):
                countries.add(str(entity["country"]).upper())
        langs.update(str(code) for code in event.get("langs") or () if code)
    ranked = sorted(names, key=lambda key: (-names[key], key))
    entities = [{"name": spelling[key][0], "kind": spelling[key][1]} for key in ranked]
    return entities, sorted(langs | {"en", "ko", "zh"}), sorted(countries | set(COUNTRIES))


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """The dashboard: timeline, filters and the events table (drawn by static JS)."""
    recent = list_events(database(request), EventFilter(limit=SUGGESTION_EVENTS))
    entities, langs, countries = suggestions(recent)
    return _page(
        request,
        "index.html",
        {
            "topics": TOPICS,
            "entities": entities,
            "langs": [(c, language(c)) for c in langs],
            "countries": [(c, f"{COUNTRIES.get(c, c)} ({c})") for c in countries],
        },
    )


def _event_context(event: dict[str, Any]) -> dict[str, Any]:
    articles = event["article_list"]
    by_id = {a["id"]: a for a in articles}
    grouped: dict[str, list[dict[str, Any]]] = {kind: [] for kind in ENTITY_KINDS}
    others: list[dict[str, Any]] = []
    for entity in event["entities"] or ():
        grouped.get(entity.get("kind") or "", others).append(entity)
    entity_groups = [(ENTITY_KINDS[k], k, v) for k, v in grouped.items() if v]
    if others:
        entity_groups.append(("Other names", "other", others))
    amounts = sorted(
        event["amounts"] or (),
        key=lambda a: -(a.get("value_usd") or a.get("high") or 0.0),
    )
    return {
        "event": event,
        "topics": event["topics"] or (),
        "entity_groups": entity_groups,
        "amounts": amounts,
        "articles": articles,
        "by_id": by_id,
    }


def _not_found(request: Request, shown: str) -> HTMLResponse:
    return _page(request, "not_found.html", {"shown": shown}, status=404)


@router.get("/events/{event_id}", response_class=HTMLResponse)
def event_page(request: Request, event_id: str) -> HTMLResponse:
    """One event: dates, topics with their evidence, entities, amounts and articles."""
    # The id is taken as text so that /events/abc is the same 404 page as an unknown number.
    number = event_id.isascii() and event_id.isdigit() and len(event_id) <= 10
    if not number or not 1 <= int(event_id) <= ID_MAX:
        return _not_found(request, event_id[:40])
    event = event_detail(database(request), int(event_id))
    if event is None:
        return _not_found(request, event_id)
    return _page(request, "event.html", _event_context(event))
