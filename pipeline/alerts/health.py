"""Source health: a source that keeps failing, or has announced nothing new for too long.

One alert per outage: an outage is named by the last good moment before it (the last
successful poll for failures, the newest entry for silence), so a source that recovers and
fails again later is a new outage, and a long one is announced once.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pipeline.alerts.message import Message


def _outage_id(kind: str, since: datetime | None) -> int:
    mark = since.isoformat() if since else "never"
    return zlib.crc32(f"{kind}:{mark}".encode()) & 0x7FFFFFFF or 1


def outage(
    source: Mapping[str, Any], failures: int, silent_hours: float, now: datetime
) -> tuple[int, Message, dict[str, Any]] | None:
    """(outage id, message, snapshot) when ``source`` is failing or silent; else None."""
    name = source["name"]
    if int(source["consecutive_failures"] or 0) >= failures:
        last_ok = source["last_success_at"]
        since = f"since {last_ok:%Y-%m-%d %H:%M} UTC" if last_ok else "and never succeeded"
        error = " ".join(str(source["last_error"] or "unknown").split())[:300]
        message = Message(
            f"Source {name} is failing",
            f"{source['consecutive_failures']} polls in a row failed, {since}.\\n"
            f"Last error: {error}\\nFeed: {source['url']}",
        )
        return _outage_id("failing", last_ok), message, {"kind": "failing"}
    newest = source["newest"] or source["created_at"]
    if newest is not None and now - newest >= timedelta(hours=silent_hours):
        message = Message(
            f"Source {name} is silent",
            f"No new entry for {(now - newest).total_seconds() / 3600:.0f} hours "
            f"(newest {newest:%Y-%m-%d %H:%M} UTC).\\nFeed: {source['url']}",
        )
        return _outage_id("silent", newest), message, {"kind": "silent"}
    return None
