"""The filter index of tracked events: topic, entity, country (of a named company or model)
and language rows in ``event_terms``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from db.models import EventRow, EventTermRow

VALUE_MAX = 200


def term_rows(
    event_id: int,
    topics: Iterable[Mapping[str, Any]] | None,
    entities: Iterable[Mapping[str, Any]] | None,
    langs: Iterable[str] | None,
) -> list[dict[str, Any]]:
    """The ``event_terms`` rows of one event (values case-folded, each once)."""
    seen: set[tuple[str, str]] = set()
    for topic in topics or ():
        seen.add(("topic", str(topic["name"]).casefold()[:VALUE_MAX]))
    for entity in entities or ():
        seen.add(("entity", str(entity["name"]).casefold()[:VALUE_MAX]))
        if entity.get("country"):
            seen.add(("country", str(entity["country"]).casefold()[:VALUE_MAX]))
    for lang in langs or ():
        if lang:
            seen.add(("lang", str(lang).casefold()[:VALUE_MAX]))
    return [{"event_id": event_id, "kind": k, "value": v} for k, v in sorted(seen)]


def write_terms(conn: Connection, rows_by_event: Mapping[int, list[dict[str, Any]]]) -> None:
    """Replace the terms of these events."""
    if not rows_by_event:
        return
    ids = list(rows_by_event)
    for start in range(0, len(ids), 500):
        conn.execute(
            delete(EventTermRow).where(EventTermRow.event_id.in_(ids[start : start + 500]))
        )
    rows = [row for event_rows in rows_by_event.values() for row in event_rows]
    for start in range(0, len(rows), 1000):
        conn.execute(insert(EventTermRow), rows[start : start + 1000])


def rebuild_terms(conn: Connection) -> int:
    """Rebuild every event's terms from its JSON columns; returns the number of events."""
    conn.execute(delete(EventTermRow))
    batch: dict[int, list[dict[str, Any]]] = {}
    count = 0
    query = select(EventRow.id, EventRow.topics, EventRow.entities, EventRow.langs)
    for event_id, topics, entities, langs in conn.execute(query):
        batch[event_id] = term_rows(event_id, topics, entities, langs)
        count += 1
        if len(batch) >= 1000:
            write_terms(conn, batch)
            batch = {}
    write_terms(conn, batch)
    return count
