"""Page batches through ``fetch-pages`` then ``store-pages``, a bounded number in flight.

Shared by collect and backfill. Each batch is fetched and extracted by one ``fetch-pages`` task
(on this machine or on a Dask cluster, see ``flows.runners``) and written by one
``store-pages`` task as soon as it arrives; ``in_flight`` bounds the batches being fetched or
stored at once, so memory stays flat however many batches there are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from prefect.futures import PrefectFuture, wait
from prefect.task_runners import TaskRunner

from flows.runners import submit_pages
from flows.tasks import fetch_pages, store_pages
from pipeline.fetch_settings import FetchSettings
from pipeline.records import Entry, PageOutcome, Source
from pipeline.store.entries import SavedCounts

OnStored = Callable[[int, list[PageOutcome], SavedCounts], None]


def fetch_and_store(
    batches: Sequence[list[Entry]],
    *,
    runner: TaskRunner[Any] | None,
    in_flight: int,
    sources: dict[str, Source],
    fetch: FetchSettings,
    now: datetime,
    db_url: str,
    source_ids: dict[str, int],
    run_id: int,
    on_stored: OnStored,
) -> None:
    """Fetch, extract and store every batch; ``on_stored(index, outcomes, counts)`` follows
    each stored batch (in completion order, in the calling thread)."""
    queue = list(enumerate(batches))
    total = len(batches)
    fetching: dict[PrefectFuture[Any], int] = {}
    storing: dict[PrefectFuture[Any], tuple[int, list[PageOutcome]]] = {}
    while queue or fetching or storing:
        # A batch is stored while the next one is fetched; stores wait only for the database.
        while queue and len(fetching) < max(1, in_flight) and len(storing) <= in_flight:
            index, batch = queue.pop(0)
            future = submit_pages(
                runner,
                fetch_pages.with_options(task_run_name=f"pages {index + 1}/{total}"),
                {"entries": batch, "sources": sources, "fetch": fetch, "now": now},
            )
            fetching[future] = index
        done, _ = wait([*fetching, *storing], timeout=0.1)
        for future in done:
            if future in fetching:
                index = fetching.pop(future)
                outcomes: list[PageOutcome] = future.result()
                stored = store_pages.with_options(
                    task_run_name=f"store {index + 1}/{total}"
                ).submit(db_url, outcomes, source_ids, run_id, fetch.max_attempts, now)
                storing[stored] = (index, outcomes)
            elif future in storing:
                index, outcomes = storing.pop(future)
                on_stored(index, outcomes, future.result())
