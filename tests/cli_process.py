"""A ``newswatch`` command as a real subprocess, its merged output collected line by line.

The process runs in its own session, so a Ctrl-C typed at pytest does not reach it; the
tests stop it themselves (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class CliProcess:
    """``python -m flows.cli COMMAND ARGS``; subclasses watch lines with ``on_line``."""

    def __init__(self, command: str, args: Sequence[str], env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", command, *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.rstrip("\n")
            with self._lock:
                self.lines.append(line)
            self.on_line(line)
        self.on_end()

    def on_line(self, line: str) -> None:
        """Called by the reader thread for each line printed."""

    def on_end(self) -> None:
        """Called by the reader thread when the process has closed its output."""

    def terminate(self, grace: float) -> int:
        """SIGTERM, then SIGKILL after ``grace`` seconds if it lingers; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(grace)
        self._reader.join(grace)
        return self.process.returncode

    def printed(self) -> str:
        """Everything printed so far."""
        with self._lock:
            return "\n".join(self.lines)
