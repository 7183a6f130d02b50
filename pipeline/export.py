"""The export contract: one record per stored article, field names stable.

Fields: ``url``, ``canonical_url``, ``source``, ``title``, ``lang``, ``published_at`` (ISO 8601
UTC or null), ``fetched_at``, ``text``, ``topics`` (list of names), ``relevance`` (0..1 or null),
``story_id``, ``duplicate_of`` (canonical URL of the original or null), ``entities`` (list of
``{name, kind}``), ``amounts`` (list of ``{raw, value, currency, value_usd, kind}``, each with
``modality``, ``low``, ``high`` and ``unit`` as well). Until an article is classified its lists
are empty and its relevance null.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

EXPORT_FIELDS = (
    "url",
    "canonical_url",
    "source",
    "title",
    "lang",
    "published_at",
    "fetched_at",
    "text",
    "topics",
    "relevance",
    "story_id",
    "duplicate_of",
    "entities",
    "amounts",
)
_LIST_FIELDS = ("topics", "entities", "amounts")


def iso_utc(value: datetime | None) -> str | None:
    """``2025-03-25T09:30:00Z`` for an aware datetime, None for None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def export_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """An export record from a stored article row (missing later-stage fields get defaults)."""
    record: dict[str, Any] = {}
    for name in EXPORT_FIELDS:
        value = row.get(name)
        if name in ("published_at", "fetched_at"):
            value = iso_utc(value)
        elif name in _LIST_FIELDS and value is None:
            value = []
        elif name == "topics":
            value = [t["name"] if isinstance(t, dict) else t for t in value or []]
        elif name == "entities":
            value = [{"name": e["name"], "kind": e["kind"]} for e in value or []]
        record[name] = value
    return record


def write_jsonl(records: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    """Write one JSON object per line; return how many."""
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(records: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    """Write CSV with a header; list fields are JSON-encoded in their cell."""
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, extrasaction="ignore")
    writer.writeheader()
    count = 0
    for record in records:
        cells = {
            k: (json.dumps(v, ensure_ascii=False) if k in _LIST_FIELDS else v)
            for k, v in record.items()
        }
        writer.writerow(cells)
        count += 1
    return count
