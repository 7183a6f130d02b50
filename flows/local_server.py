"""A local Prefect server for ``newswatch serve``: started, health-checked, always stopped.

Why it exists: without ``PREFECT_API_URL``, Prefect 3.9.1 gives a process a temporary API that
registers deployment schedules and never runs them (measured here), so ``serve`` needs a real
server. This module owns that server's whole life:

- ``prefect server start --host 127.0.0.1 --port <free port>`` in a subprocess, with
  ``PREFECT_HOME`` set to a folder we choose (its SQLite database lives there), analytics off,
  and Prefect's database vacuum extended to old flow runs
  (``PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED=events,flow_runs``, unless the operator set it);
- ready when ``/api/health`` answers; an early exit or a timeout raises
  :class:`LocalServerError` with the tail of the server's log (``<PREFECT_HOME>/server.log``);
- the server runs in its own session and process group, so a Ctrl-C typed in the terminal
  reaches ``serve`` alone, which then stops the server in order: SIGTERM to the whole group,
  SIGKILL after a timeout. On Linux the kernel also sends the server SIGTERM should ``serve``
  die without cleaning up (``PR_SET_PDEATHSIG``; e.g. after SIGKILL), so it is never orphaned.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

import httpx

from pipeline.errors import ServiceError

HOST = "127.0.0.1"
# Old flow runs (and their logs and artifacts) are deleted after Prefect's retention period
# (90 days by default); events are vacuumed as by default.
VACUUM = ("PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED", "events,flow_runs")
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class LocalServerError(ServiceError):
    """The local Prefect server could not be started."""

    reason = "prefect_server"


def free_port(host: str = HOST) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def server_environment(base: Mapping[str, str], prefect_home: Path) -> dict[str, str]:
    """The environment of the server process: ``base`` with our Prefect settings."""
    env = {key: value for key, value in base.items() if key != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(prefect_home)
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env.setdefault(*VACUUM)
    return env


def _pdeathsig() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGTERM the child when this process dies."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork, not in the child
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


class LocalServer:
    """``prefect server start`` on 127.0.0.1, data under ``prefect_home``; a context manager."""

    def __init__(
        self,
        prefect_home: Path,
        *,
        port: int | None = None,
        startup_timeout: float = 120.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.prefect_home = prefect_home
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the server (the UI)."""
        return f"http://{HOST}:{self.port}"

    @property
    def api_url(self) -> str:
        """The value for ``PREFECT_API_URL``."""
        return f"{self.url}/api"

    @property
    def log_path(self) -> Path:
        """Where the server's own output goes."""
        return self.prefect_home / "server.log"

    @property
    def pid(self) -> int | None:
        """Process id of the server (also its process group id), while started."""
        return self._process.pid if self._process else None

    def start(self) -> LocalServer:
        """Start the server and wait until its API is healthy; stop it again on failure."""
        self.prefect_home.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            HOST,
            "--port",
            str(self.port),
        ]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=server_environment(os.environ, self.prefect_home),
                # Not the caller's folder: a stray .env or prefect.toml there must not
                # configure this server.
                cwd=self.prefect_home,
                start_new_session=True,
                preexec_fn=_pdeathsig(),  # noqa: PLW1509 - only calls prctl, resolved above
            )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(trust_env=False, timeout=2.0) as client:
            while True:
                code = self._process.poll()
                if code is not None:
                    raise LocalServerError(
                        f"the local Prefect server exited with status {code} while starting; "
                        f"its log ({self.log_path}) ends with:\n{self._log_tail()}"
                    )
                try:
                    if client.get(f"{self.api_url}/health").status_code == httpx.codes.OK:
                        return
                except httpx.TransportError:
                    pass  # not listening yet
                if time.monotonic() > deadline:
                    raise LocalServerError(
                        f"the local Prefect server did not answer on {self.api_url} within "
                        f"{self.startup_timeout:.0f} s; its log ({self.log_path}) ends with:\n"
                        f"{self._log_tail()}"
                    )
                time.sleep(0.25)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty)"

    def stop(self) -> None:
        """Stop the server's whole process group: SIGTERM, then SIGKILL after the timeout."""
        process, self._process = self._process, None
        if process is None:
            return
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
        # Anything the server started and left behind in its group goes too.
        _signal_group(process.pid, signal.SIGKILL)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone already
        os.killpg(pgid, signum)
