"""Progress of page work, shown as a bar when a person is watching (stderr is a TTY).

The flow opens a :func:`page_progress` context; tasks running in the flow's threads find it
through a context variable (Prefect's thread pool copies the caller's context into each task
thread), so task parameters stay plain records.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from pipeline.records import PageOutcome

_CURRENT: ContextVar[PageBar | None] = ContextVar("newswatch_page_progress", default=None)


class PageBar:
    """A page counter drawn on stderr."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._task = progress.add_task("pages", total=0) if progress else None

    def grow(self, count: int) -> None:
        """More pages to do."""
        if self._progress is not None and self._task is not None:
            total = self._progress.tasks[self._task].total or 0
            self._progress.update(self._task, total=total + count)

    def advance(self, outcome: PageOutcome) -> None:
        """One page done."""
        self.add(1)

    def read(self, count: int) -> None:
        """``count`` pages found and done at once (an archive read in batches)."""
        self.grow(count)
        self.add(count)

    def add(self, count: int) -> None:
        """``count`` pages done."""
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, count)


@contextmanager
def page_progress(enabled: bool | None = None, label: str = "collect") -> Iterator[PageBar]:
    """Make a page bar current for the duration of the block."""
    show = sys.stderr.isatty() if enabled is None else enabled
    progress = None
    if show:
        progress = Progress(
            TextColumn(f"[bold]{label}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
    bar = PageBar(progress)
    token = _CURRENT.set(bar)
    try:
        if progress is not None:
            with progress:
                yield bar
        else:
            yield bar
    finally:
        _CURRENT.reset(token)


def current() -> PageBar:
    """The page bar of the running flow, or an invisible one."""
    return _CURRENT.get() or PageBar(None)
