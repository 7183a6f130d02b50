"""The runs-table row of a flow run: inserted as running, closed by the flow, failed on error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from prefect import get_run_logger
from prefect.runtime import flow_run

from pipeline.store.database import Database
from pipeline.store.runs import fail_run, start_run


@contextmanager
def recorded_run(
    database: Database, kind: str, started: datetime, *, sources_path: str | None = None
) -> Iterator[int]:
    """A runs-table row for the block, linked to the Prefect flow run; marked failed with the
    error when the block raises. The block closes the row itself with ``finish_run``."""
    run_id = start_run(
        database,
        started,
        kind=kind,
        sources_path=sources_path,
        flow_run_id=str(flow_run.get_id() or "") or None,
    )
    try:
        yield run_id
    except BaseException as exc:
        try:
            fail_run(database, run_id, datetime.now(UTC), f"{exc.__class__.__name__}: {exc}")
        except Exception as also:  # the database may be what failed; keep the first error
            get_run_logger().error("could not mark run %d as failed: %s", run_id, also)
        raise
