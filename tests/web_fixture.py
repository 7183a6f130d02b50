"""The web API served for real: ``newswatch web`` as a subprocess over a collected newsroom.

Shared by ``test_web_api.py`` and ``test_schemathesis.py``. The database (SQLite or
PostgreSQL) is filled by the real collect flow from the loopback newsroom, then the CLI
serves it on 127.0.0.1 with ``--port 0``; the port is read from the startup line.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from flows.loopback import LoopbackSite
from pipeline.store.database import open_database
from tests.cli_process import CliProcess
from tests.conftest import fresh_pg_database
from tests.newsroom_fixture import serve_newsroom

#: Parameters of a module-scoped fixture: each test runs on SQLite and on PostgreSQL.
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

#: A query parameter's value; None leaves the parameter out.
Param = str | int | None

STARTED = re.compile(r"newswatch web on http://(?P<host>\[[^\]]+\]|[^/:\s]+):(?P<port>\d+)/")


def cli_environment(home: Path, **extra: str) -> dict[str, str]:
    """This environment without newswatch settings or a Prefect API, with ``home`` as data."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("NEWSWATCH_", "PREFECT_API_URL", "SCHEMATHESIS_"))
    }
    env.update(
        COLUMNS="200",
        NEWSWATCH_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class WebProcess(CliProcess):
    """``python -m flows.cli web ARGS`` with its output collected line by line."""

    def __init__(self, args: Sequence[str], env: dict[str, str]) -> None:
        self.startup: re.Match[str] | None = None
        self._started = threading.Event()
        super().__init__("web", args, env)

    def on_line(self, line: str) -> None:
        found = STARTED.search(line)
        if found and self.startup is None:
            self.startup = found
            self._started.set()

    def on_end(self) -> None:
        self._started.set()  # the process ended: stop waiting either way

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.printed()

    def wait_started(self, timeout: float = 60) -> re.Match[str]:
        """The startup line's match (host and port); fails with the output if it never came."""
        self._started.wait(timeout)
        if self.startup is None:
            raise AssertionError(
                f"newswatch web did not start (exit {self.process.poll()}):\n{self.output()}"
            )
        return self.startup

    def wait_answering(self, base_url: str, timeout: float = 30) -> None:
        """Wait until ``base_url`` answers: the startup line is printed once the socket is
        bound, a moment before uvicorn listens on it (a connection is refused until then)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(f"{base_url}/api/openapi.json", timeout=5).raise_for_status()
                return
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"newswatch web does not answer at {base_url}:\n{self.output()}"
                    ) from None
                time.sleep(0.05)

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM, then SIGKILL if it lingers; returns the exit code."""
        return self.terminate(timeout)


@contextmanager
def web_process(args: Sequence[str], env: dict[str, str]) -> Iterator[WebProcess]:
    """A running ``newswatch web``; always stopped afterwards."""
    running = WebProcess(args, env)
    try:
        started = running.wait_started()
        running.wait_answering(f"http://{started['host']}:{started['port']}")
        yield running
    finally:
        running.stop()


def collect_newsroom(db_url: str, folder: Path) -> None:
    """Fill ``db_url`` from the loopback newsroom with the real collect flow."""
    from flows.collect import collect

    # PostgreSQL is never upgraded by surprise; SQLite would be, but both go the same way here.
    open_database(db_url, upgrade=True).dispose()
    with LoopbackSite() as site:
        collect(sources=str(serve_newsroom(site, folder)), db=db_url, show_progress=False)


@contextmanager
def collected_database(kind: str, folder: Path) -> Iterator[str]:
    """A fresh database of ``kind`` (sqlite or postgresql) holding the collected newsroom."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'newswatch.db'}"
        collect_newsroom(url, folder)
        yield url
        return
    with fresh_pg_database("newswatch_web") as name:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        collect_newsroom(url, folder)
        yield url


@dataclass
class ServedApi:
    """A running ``newswatch web`` over a collected database, and a client for it."""

    db_url: str
    base_url: str
    process: WebProcess
    client: httpx.Client

    def get(self, path: str, **params: Param) -> httpx.Response:
        """GET ``path`` with query parameters (None values are left out)."""
        query: dict[str, str | int] = {k: v for k, v in params.items() if v is not None}
        return self.client.get(path, params=query)

    def json(self, path: str, **params: Param) -> Any:
        """GET ``path`` and its JSON body; fails with the body when the status is not 200."""
        response = self.get(path, **params)
        assert response.status_code == 200, (response.request.url, response.text)
        return response.json()


@contextmanager
def served_newsroom(kind: str, folder: Path) -> Iterator[ServedApi]:
    """The collected newsroom in a ``kind`` database, served by ``newswatch web --port 0``."""
    with (
        collected_database(kind, folder) as db_url,
        web_process(["--port", "0", "--db", db_url], cli_environment(folder)) as process,
    ):
        started = process.wait_started()
        base_url = f"http://{started['host']}:{started['port']}"
        with httpx.Client(base_url=base_url, timeout=30) as client:
            yield ServedApi(db_url, base_url, process, client)
