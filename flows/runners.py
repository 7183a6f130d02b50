"""Where page extraction runs: on this machine (the default) or on a Dask cluster.

``NEWSWATCH_TASK_RUNNER=local`` keeps the flow's own thread pool; each ``fetch-pages`` task
extracts in a process pool on this machine. ``dask`` sends ``fetch-pages`` tasks to a Dask
cluster through prefect-dask: the one at ``NEWSWATCH_DASK_ADDRESS``, or a local cluster started
for the run. Polling and storing always stay in the flow's process.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from prefect import Task
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner

from pipeline.errors import ConfigError
from pipeline.settings import Settings


@contextmanager
def page_runner(settings: Settings) -> Iterator[TaskRunner[Any] | None]:
    """The task runner for ``fetch-pages``: None means the flow's own runner."""
    if settings.task_runner == "local":
        yield None
        return
    raise ConfigError(f"task runner {settings.task_runner!r} is not available yet")


def submit_pages(
    runner: TaskRunner[Any] | None, task: Task[..., Any], parameters: Mapping[str, Any]
) -> PrefectFuture[Any]:
    """Submit a ``fetch-pages`` task to ``runner`` (or to the flow's runner when None)."""
    if runner is None:
        return task.submit(**parameters)
    return runner.submit(task, dict(parameters))
