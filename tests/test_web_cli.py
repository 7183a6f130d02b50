"""``newswatch web`` as people start it: a chosen or free port, a taken port, stopping."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.test_cli import ROOT, newswatch


def _start(*args: str, home: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    env["NEWSWATCH_HOME"] = str(home)
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "web", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _address(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        found = re.search(r"on (http://127\.0\.0\.1:\d+)/", line)
        if found:
            return found.group(1)
        assert line or process.poll() is None, "newswatch web exited early"
    raise AssertionError("no address printed")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_port_zero_picks_a_free_port_and_a_signal_stops_cleanly(
    tmp_path: Path, stop: signal.Signals
) -> None:
    process = _start("--port", "0", home=tmp_path)
    try:
        base = _address(process)
        answer = httpx.get(f"{base}/api/events", timeout=10)
        assert answer.status_code == 200 and answer.json()["total"] == 0
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        assert httpx.post(f"{base}/api/events", timeout=10).status_code == 405
    finally:
        process.send_signal(stop)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err and "newswatch web stopped" in err


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = newswatch("web", "--port", str(port), home=tmp_path)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_port_is_a_usage_error(tmp_path: Path) -> None:
    result = newswatch("web", "--port", "70000", home=tmp_path)
    assert result.returncode == 2 and "not a TCP port" in result.stderr
