"""``newswatch serve`` as a real subprocess for the tests: its output, its runs, its server.

The process runs in its own session (a Ctrl-C typed at pytest does not reach it) with
``PREFECT_API_URL`` unset, so it starts its own local Prefect server. ``close()`` always
leaves nothing behind: SIGTERM, then SIGKILL (the server then dies with it: PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from db.models import RunRow
from pipeline.store.database import open_database
from tests.cli_process import CliProcess

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def serve_environment(home: Path, db_url: str, client_home: Path) -> dict[str, str]:
    """This environment without Prefect API or newswatch settings, pointing at ``home``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("NEWSWATCH_")
        and key
        not in (
            "PREFECT_API_URL",
            "PREFECT_SERVER_ANALYTICS_ENABLED",
            "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED",
        )
    }
    env.update(
        NEWSWATCH_HOME=str(home),
        NEWSWATCH_DB=db_url,
        # The client side's Prefect folder (profiles, memo store): never the machine's own,
        # whose profile could name another API.
        PREFECT_HOME=str(client_home),
        PYTHONUNBUFFERED="1",
    )
    return env


class ServeProcess(CliProcess):
    """``python -m flows.cli serve ...`` with its merged output collected line by line."""

    def __init__(self, args: Sequence[str], env: dict[str, str], db_url: str) -> None:
        self.db_url = db_url
        super().__init__("serve", args, env)

    @property
    def output(self) -> str:
        """Everything printed so far."""
        return self.printed()

    def wait_for(self, what: str, probe: Callable[[], T | None], timeout: float) -> T:
        """Poll ``probe`` until it returns something truthy; fail with the output if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = probe()
            if found:
                return found
            if self.process.poll() is not None:
                raise AssertionError(
                    f"serve exited ({self.process.returncode}) before {what}:\n{self.output}"
                )
            time.sleep(0.5)
        raise AssertionError(f"no {what} within {timeout:.0f} s; serve printed:\n{self.output}")

    def find(self, pattern: str) -> re.Match[str] | None:
        """The first match of ``pattern`` in the output."""
        return re.search(pattern, self.output)

    def api_url(self, timeout: float = 240) -> str:
        """The API of the local Prefect server (once serve has printed it)."""
        match = self.wait_for(
            "local Prefect server", lambda: self.find(r"\(API (http://\S+/api),"), timeout
        )
        return match.group(1)

    def server_pid(self) -> int:
        """Process id of the local Prefect server, as serve printed it."""
        match = self.find(r"server pid (\d+)")
        assert match, self.output
        return int(match.group(1))

    def runs(self, kind: str | None = None) -> list[Any]:
        """Rows of the runs table (none while the database or its schema does not exist)."""
        if not Path(self.db_url.removeprefix("sqlite:///")).exists():
            return []
        database = open_database(self.db_url, check=False)
        query = select(
            RunRow.id,
            RunRow.kind,
            RunRow.status,
            RunRow.flow_run_id,
            RunRow.started_at,
            RunRow.finished_at,
            RunRow.summary,
        ).order_by(RunRow.id)
        if kind is not None:
            query = query.where(RunRow.kind == kind)
        try:
            with database.engine.connect() as conn:
                return list(conn.execute(query))
        except OperationalError as exc:
            if "no such table" in str(exc):
                return []  # serve is creating the schema right now
            raise
        finally:
            database.dispose()

    def completed(self, kind: str, count: int) -> list[Any] | None:
        """The completed runs of ``kind`` once there are at least ``count``, else None."""
        done = [r for r in self.runs(kind) if r.status == "completed"]
        return done if len(done) >= count else None

    def stop(self, signum: signal.Signals, timeout: float = 60) -> float:
        """Send ``signum`` and wait for the exit; return the seconds it took."""
        start = time.monotonic()
        self.process.send_signal(signum)
        self.process.wait(timeout)
        self._reader.join(5)
        return time.monotonic() - start

    def close(self) -> None:
        """Make sure the process is gone (SIGTERM, then SIGKILL)."""
        self.terminate(60)
        if self.process.stdout is not None:
            self.process.stdout.close()


def group_alive(pgid: int) -> bool:
    """Whether any process of the process group ``pgid`` still exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
