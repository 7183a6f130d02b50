"""Where page extraction runs: on this machine (the default) or on a Dask cluster.

``NEWSWATCH_TASK_RUNNER=local`` keeps the flow's own thread pool; each ``fetch-pages`` task
extracts in a process pool on this machine. ``dask`` sends ``fetch-pages`` tasks to a Dask
cluster through prefect-dask: the one at ``NEWSWATCH_DASK_ADDRESS``, or a local cluster started
for the run (one single-threaded worker process per core) and closed with it. Polling and
storing always stay in the flow's process.

On a Dask worker a batch extracts in the worker's own process (a worker is daemonic and may not
start a pool, see ``pipeline/pages.py``): Dask provides the process parallelism, so it pays
only when several batches are in flight at once.

The workers must be able to import this project (``flows`` and ``pipeline``) at the same
version as the flow: prefect-dask pickles the task and runs it there, reporting its task run
to the flow's Prefect API.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from typing import Any

from prefect import State, Task
from prefect.futures import PrefectFuture, PrefectWrappedFuture
from prefect.task_runners import TaskRunner

from flows import progress
from pipeline.errors import ConfigError, ExtractCrashError
from pipeline.pages import worker_count
from pipeline.records import Entry, Failure, PageOutcome, Stage
from pipeline.settings import Settings

# Seconds to wait for the scheduler at NEWSWATCH_DASK_ADDRESS; distributed retries a refused
# connection until then (its own default is 30 s).
CONNECT_TIMEOUT = 10.0
# One thread per worker process: a fetch-pages task already overlaps its network lanes with
# its extraction thread, and a second task in the same process would only share its GIL.
THREADS_PER_WORKER = 1


@contextmanager
def page_runner(
    settings: Settings, *, connect_timeout: float | None = None
) -> Iterator[TaskRunner[Any] | None]:
    """The task runner for ``fetch-pages``: None means the flow's own runner."""
    if settings.task_runner == "local":
        yield None
        return
    if settings.task_runner != "dask":
        raise ConfigError(f"task runner {settings.task_runner!r} is not available")
    with ExitStack() as stack:
        yield _dask_runner(stack, settings.dask_address, connect_timeout or CONNECT_TIMEOUT)


def _dask_runner(stack: ExitStack, address: str | None, connect_timeout: float) -> TaskRunner[Any]:
    """A started DaskTaskRunner, connected now so that a bad address fails before any work."""
    # Imported here: distributed takes a second to import and only this path needs it.
    import distributed
    from prefect_dask.task_runners import DaskTaskRunner

    runner: DaskTaskRunner
    if address:
        runner = DaskTaskRunner(address=address, client_kwargs={"timeout": connect_timeout})
    else:
        # The runner enters the cluster in its own exit stack, so closing it closes the cluster.
        runner = DaskTaskRunner(
            cluster_class=distributed.LocalCluster,
            cluster_kwargs={
                "n_workers": worker_count(0),
                "threads_per_worker": THREADS_PER_WORKER,
                "processes": True,
                "dashboard_address": ":0",  # never fight another run for port 8787
            },
        )
    stack.enter_context(runner)
    try:
        runner.client  # noqa: B018 - prefect-dask connects (or starts the cluster) on first use
    except ValueError as exc:
        if not address:
            raise
        raise ConfigError(
            f"NEWSWATCH_DASK_ADDRESS={address!r} is not a Dask scheduler address ({exc}); "
            "expected e.g. tcp://10.0.0.5:8786"
        ) from exc
    except (OSError, TimeoutError) as exc:
        if not address:
            raise
        raise ConfigError(
            f"NEWSWATCH_DASK_ADDRESS={address!r}: no Dask scheduler answered there within "
            f"{connect_timeout:g} s ({exc}); start one (`dask scheduler`) or leave "
            "NEWSWATCH_DASK_ADDRESS empty to start a local cluster for the run"
        ) from exc
    return runner


def batches_in_flight(runner: TaskRunner[Any] | None) -> int:
    """Page batches worth keeping in flight: one on this machine (a batch already uses every
    core), one per worker thread on a Dask cluster."""
    if runner is None:
        return 1
    client = getattr(runner, "client", None)
    try:
        workers = client.scheduler_info().get("workers", {}) if client is not None else {}
    except Exception:  # a cluster that went away shows itself at the first submit
        return 1
    return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))


def submit_pages(
    runner: TaskRunner[Any] | None, task: Task[..., Any], parameters: Mapping[str, Any]
) -> PrefectFuture[Any]:
    """Submit a ``fetch-pages`` task to ``runner`` (or to the flow's runner when None)."""
    if runner is None:
        local: PrefectFuture[Any] = task.submit(**parameters)
        return local
    # The task's own page bar is on the worker, where nobody sees it: the flow's bar counts
    # the batch's pages when its result arrives.
    return PagesFuture(
        runner.submit(task, dict(parameters)), list(parameters["entries"]), progress.current()
    )


class PagesFuture(PrefectWrappedFuture[list[PageOutcome], PrefectFuture[list[PageOutcome]]]):
    """A ``fetch-pages`` run on another process: its outcomes are counted on the flow's page
    bar once, and a batch whose worker died becomes failures of its pages, not of the run."""

    def __init__(
        self,
        future: PrefectFuture[list[PageOutcome]],
        entries: Sequence[Entry],
        bar: progress.PageBar,
    ) -> None:
        super().__init__(future.task_run_id, future)
        self._entries = list(entries)
        self._bar = bar
        self._lock = threading.Lock()
        self._outcomes: list[PageOutcome] | None = None
        # Count as soon as the batch is done, even if the flow asks for results later.
        future.add_done_callback(self._count_when_done)

    @property
    def state(self) -> State[list[PageOutcome]]:
        """The state of the batch's task run."""
        return self._wrapped_future.state

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the batch."""
        self._wrapped_future.wait(timeout)

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> Any:
        """The batch's outcomes (each page an article or a failure)."""
        if self._outcomes is not None:
            return self._outcomes
        value = self._settle(timeout, raise_on_failure)  # waits without holding the lock
        with self._lock:
            if self._outcomes is None and isinstance(value, list):  # not a failed run's error
                self._outcomes = value
                for outcome in value:
                    self._bar.advance(outcome)
            return value if self._outcomes is None else self._outcomes

    def _settle(self, timeout: float | None, raise_on_failure: bool) -> Any:
        from distributed import KilledWorker

        try:
            return self._wrapped_future.result(timeout, raise_on_failure)
        except KilledWorker as exc:
            # Dask ran the batch on several workers and each died (a crash in C code, the OOM
            # killer): like a dead extraction process locally, its pages are transient failures.
            detail = f"Dask worker died running this page's batch: {exc}"[:500]
            reason = ExtractCrashError.reason
            return [
                PageOutcome(e, failure=Failure(Stage.EXTRACT, e.source, e.link, reason, detail))
                for e in self._entries
            ]

    def _count_when_done(self, future: PrefectFuture[list[PageOutcome]]) -> None:
        # A failed batch is the flow's to see, from its own result() call.
        with suppress(Exception):
            self.result()
