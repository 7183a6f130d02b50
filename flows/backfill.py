"""The backfill flow: the history of a date range from sitemaps, web archives and feed archives."""

from __future__ import annotations

from typing import Any

from prefect import flow


@flow(name="backfill", persist_result=False, log_prints=False)
def backfill(
    start: str,
    end: str,
    sources: str | None = None,
    source: list[str] | None = None,
    db: str | None = None,
    show_progress: bool | None = None,
) -> dict[str, Any]:
    """Collect every history source's articles published from ``start`` to ``end`` (days)."""
    raise NotImplementedError("backfill is being written")
