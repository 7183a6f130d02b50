"""Values made fit for the database: the last guard before SQL, whatever a feed or page sent.

PostgreSQL refuses NUL characters in text and values longer than a column; one such value would
abort a whole batch, so they are cleaned or dropped here rather than trusted to every caller.
"""

from __future__ import annotations


def clean(value: str | None) -> str | None:
    """Text without NUL characters (None stays None)."""
    return value.replace("\x00", "") if value else value


def bounded(value: str | None, limit: int) -> str | None:
    """``value`` when it fits in ``limit`` characters, else None (a truncated key is wrong)."""
    value = clean(value)
    return value if value is not None and len(value) <= limit else None
