"""The topology of deploy/docker-compose.yml, proven without Docker.

Each service is started as compose starts it, with the commands taken from the compose file and
the Dockerfile, on 127.0.0.1 instead of service names:

- PostgreSQL: two fresh databases, one for the Prefect server and one for newswatch;
- ``server``: ``prefect server start`` on the Prefect database (asyncpg), until /api/health;
- ``setup``: its shell command verbatim (``newswatch db upgrade``, the work pool, ``prefect
  deploy`` of deploy/prefect.yaml), from the repository root as from the image's WORKDIR;
- ``worker``: the image's command, started in a folder outside the repository, so the run only
  finds the code through the pull step and NEWSWATCH_ROOT.

Two collect runs are started by hand (``prefect deployment run`` with the sources file of a
loopback newsroom and the database URL) before the worker starts: the deployment's concurrency
limit lets one run and cancels the other, and the newsroom's articles land once in the
newswatch database. The phases' wall times are printed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import yaml
from sqlalchemy import select

from db.models import ArticleRow, RunRow
from flows.loopback import LoopbackSite
from pipeline.store.database import open_database
from tests.conftest import fresh_pg_database
from tests.newsroom_fixture import build_newsroom, serve_newsroom

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent  # newswatch and prefect of this environment
HOST = "127.0.0.1"


# --------------------------------------------------------------------------- the deploy files


def compose() -> dict[str, Any]:
    """deploy/docker-compose.yml, parsed."""
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return data


def dockerfile_env_and_cmd() -> tuple[dict[str, str], list[str]]:
    """The ENV settings and the CMD (exec form) of deploy/Dockerfile."""
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    cmd: list[str] = []
    for line in text.splitlines():
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                key, _, value = pair.partition("=")
                env[key] = value
        elif line.startswith("CMD "):
            cmd = yaml.safe_load(line[4:])
    return env, cmd


def local_environment(service: dict[str, Any], values: dict[str, str]) -> dict[str, str]:
    """The service's compose environment with this machine's values (127.0.0.1, test databases).

    A variable compose sets and this test does not know fails the test, so the two cannot
    drift apart.
    """
    declared = service.get("environment") or {}
    unknown = sorted(set(declared) - set(values))
    assert not unknown, f"compose sets {unknown}; give them a local value in this test"
    return {key: values[key] for key in declared}


def base_environment(home: Path) -> dict[str, str]:
    """This process's environment without Prefect or newswatch settings, as in a fresh image."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PREFECT_", "NEWSWATCH_"))
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    image_env, _ = dockerfile_env_and_cmd()
    env.update(image_env)
    # The image's folders, here under the test's temporary folder.
    env.update(
        NEWSWATCH_ROOT=str(ROOT),
        NEWSWATCH_HOME=str(home / "data"),
        PREFECT_HOME=str(home / "prefect"),
        PREFECT_UI_STATIC_DIRECTORY=str(home / "prefect" / "ui"),
    )
    (home / "data").mkdir(parents=True, exist_ok=True)
    (home / "prefect" / "ui").mkdir(parents=True, exist_ok=True)
    return env


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Service:
    """A long-running process in its own process group, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path, log: Path):
        self.name = name
        self.log = log
        self._handle = log.open("wb")
        self.process = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return f"--- last lines of {self.name} ({self.log}):\n" + "\n".join(text[-lines:])

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float) -> bool:
        """SIGTERM to the group, SIGKILL to the group and every descendant after ``grace``;
        whether the process had exited on SIGTERM alone."""
        try:
            family = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            family = []
        _signal_group(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(grace)
        on_sigterm = self.process.poll() is not None
        _signal_group(self.process.pid, signal.SIGKILL)
        for child in family:  # flow-run processes: the worker starts each in its own session
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        self.process.wait(10)
        self._handle.close()
        return on_sigterm


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


def run_command(
    argv: list[str], env: dict[str, str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run a one-shot command; its output is returned for the assertion messages."""
    return subprocess.run(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_healthy(url: str, service: Service, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            assert service.alive(), f"{service.name} exited early\n{service.tail()}"
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)
    pytest.fail(f"{service.name} not healthy at {url} after {timeout:.0f} s\n{service.tail()}")


# --------------------------------------------------------------------------- databases


@pytest.fixture
def prefect_db() -> Iterator[str]:
    """A fresh PostgreSQL database for the Prefect server (asyncpg URL), dropped afterwards."""
    with fresh_pg_database("newswatch_prefect") as name:
        yield f"postgresql+asyncpg://postgres@{HOST}:5432/{name}"


# --------------------------------------------------------------------------- the test


@pytest.mark.timeout(600)
def test_compose_topology_runs_a_collect_on_a_worker(
    tmp_path: Path,
    site: LoopbackSite,
    pg_url: str,
    prefect_db: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    services = compose()["services"]
    _, worker_cmd = dockerfile_env_and_cmd()
    api_port, health_port = free_port(), free_port()
    api = f"http://{HOST}:{api_port}/api"
    local = {
        "NEWSWATCH_DB": pg_url,
        "PREFECT_API_URL": api,
        "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db,
        "PREFECT_UI_API_URL": api,
        "NEWSWATCH_TASK_RUNNER": "local",
        "NEWSWATCH_DASK_ADDRESS": "",
        "NEWSWATCH_ALERT_URL": "",  # no alerts in this test: the rules are skipped
        # As in compose: the server prunes old flow runs as well as events.
        "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "events,flow_runs",
    }
    timings: dict[str, float] = {}
    started: list[Service] = []
    clock = time.monotonic()
    try:
        # server
        server_cmd = list(services["server"]["command"])
        server_cmd[server_cmd.index("--host") + 1] = HOST
        server_cmd[server_cmd.index("--port") + 1] = str(api_port)
        env = base_environment(tmp_path / "server") | local_environment(services["server"], local)
        server = Service("server", server_cmd, env, tmp_path, tmp_path / "server.log")
        started.append(server)
        wait_healthy(f"{api}/health", server, timeout=180)
        timings["server start"] = time.monotonic() - clock

        # setup: the one-shot's command as written in the compose file
        mark = time.monotonic()
        env = base_environment(tmp_path / "setup") | local_environment(services["setup"], local)
        setup = run_command(list(services["setup"]["command"]), env, ROOT, timeout=300)
        assert setup.returncode == 0, f"setup failed:\n{setup.stdout}\n{setup.stderr}"
        timings["setup (db upgrade, work pool, deploy)"] = time.monotonic() - mark
        check_deployments(api)

        # two collect runs started by hand, before any worker polls the pool
        mark = time.monotonic()
        newsroom = build_newsroom()
        sources = serve_newsroom(site, tmp_path, newsroom)
        env = base_environment(tmp_path / "cli") | {"PREFECT_API_URL": api}
        trigger = [
            "prefect",
            "deployment",
            "run",
            "collect/newswatch",
            "--param",
            f"sources={sources}",
            "--param",
            f"db={pg_url}",
        ]
        triggers = [
            subprocess.Popen(
                trigger, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=120)[0].decode(errors="replace") for p in triggers]
        assert all(p.returncode == 0 for p in triggers), "\n".join(outputs)
        run_ids = [_flow_run_id(output) for output in outputs]
        timings["two runs created"] = time.monotonic() - mark

        # worker: the image's command, outside the repository
        mark = time.monotonic()
        worker_started = datetime.now(UTC)
        workdir = tmp_path / "worker-cwd"
        workdir.mkdir()
        env = base_environment(tmp_path / "worker") | local_environment(services["worker"], local)
        env |= {
            "PREFECT_WORKER_WEBSERVER_HOST": HOST,
            "PREFECT_WORKER_WEBSERVER_PORT": str(health_port),
        }
        worker = Service("worker", worker_cmd, env, workdir, tmp_path / "worker.log")
        started.append(worker)
        wait_healthy(f"http://{HOST}:{health_port}/health", worker, timeout=120)
        runs = wait_finished(api, run_ids, worker, timeout=300)
        timings["worker start to both runs final"] = time.monotonic() - mark

        states = sorted(run["state"] for run in runs)
        assert states == ["CANCELLED", "COMPLETED"], f"{runs}\n{worker.tail()}"
        [done] = [run for run in runs if run["state"] == "COMPLETED"]
        [skipped] = [run for run in runs if run["state"] == "CANCELLED"]
        assert "concurrency" in skipped["message"].lower(), skipped
        timings["worker pick-up (worker start to Pending)"] = (
            done["pending"] - worker_started
        ).total_seconds()
        timings["flow process start (Pending to Running)"] = (
            done["running"] - done["pending"]
        ).total_seconds()
        timings["collect run (Running to Completed)"] = (
            done["completed"] - done["running"]
        ).total_seconds()

        check_articles(pg_url, newsroom_size=len(newsroom.articles), flow_run_id=done["id"])
        assert "Running 1 deployment pull step" in worker.log.read_text(errors="replace")
    finally:
        mark = time.monotonic()
        exited: dict[str, bool] = {}
        for service in reversed(started):
            # As `docker compose stop`: SIGTERM, then SIGKILL after a grace period (shorter here).
            grace = 5.0 if service.name == "worker" else 15.0
            exited[f"{service.name} stopped by SIGTERM within {grace:.0f} s"] = service.stop(grace)
        timings["stop worker and server"] = time.monotonic() - mark
        timings["total"] = time.monotonic() - clock
        with capsys.disabled():
            sys.stdout.write(
                "\ntopology timings (s): "
                + ", ".join(f"{name} {seconds:.1f}" for name, seconds in timings.items())
                + "; "
                + ", ".join(f"{what}: {'yes' if done else 'no'}" for what, done in exited.items())
                + "\n"
            )


def _flow_run_id(output: str) -> str:
    match = re.search(r"UUID: ([0-9a-f-]{36})", output)
    assert match, f"no flow run id in:\n{output}"
    return match.group(1)


def check_deployments(api: str) -> None:
    """The deployments of deploy/prefect.yaml, as the server holds them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.schedules import IntervalSchedule
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        deployments = client.read_deployments()
        flows = {f.id: f.name for f in client.read_flows()}
    named = {f"{flows[d.flow_id]}/{d.name}": d for d in deployments}
    assert set(named) == {
        "collect/newswatch",
        "digest/newswatch",
        "backfill/newswatch",
        "reclassify/newswatch",
        "alerts/newswatch",
    }
    for deployment in named.values():
        assert deployment.work_pool_name == "newswatch"
        # Deployed without NEWSWATCH_ROOT: each worker resolves the placeholder at run time.
        assert deployment.pull_steps == [
            {
                "prefect.deployments.steps.set_working_directory": {
                    "directory": "{{ $NEWSWATCH_ROOT }}"
                }
            }
        ]
    collect = named["collect/newswatch"]
    [schedule] = collect.schedules
    assert schedule.active
    assert isinstance(schedule.schedule, IntervalSchedule)
    assert schedule.schedule.interval.total_seconds() == 1800
    assert collect.global_concurrency_limit is not None
    assert collect.global_concurrency_limit.limit == 1
    assert collect.concurrency_options is not None
    assert collect.concurrency_options.collision_strategy.value == "CANCEL_NEW"
    assert named["backfill/newswatch"].schedules == []


def wait_finished(
    api: str, run_ids: list[str], worker: Service, timeout: float
) -> list[dict[str, Any]]:
    """Wait until every run is in a final state; return id, state, message and state times."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    deadline = time.monotonic() + timeout
    with temporary_settings({PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        while True:
            runs = [client.read_flow_run(uuid.UUID(run_id)) for run_id in run_ids]
            if all(run.state is not None and run.state.is_final() for run in runs):
                break
            assert worker.alive(), f"the worker exited\n{worker.tail()}"
            if time.monotonic() > deadline:
                states = [run.state.type.value if run.state else None for run in runs]
                pytest.fail(f"runs not final after {timeout:.0f} s: {states}\n{worker.tail()}")
            time.sleep(0.5)
        result = []
        for run in runs:
            assert run.state is not None
            history = {s.type.value: s.timestamp for s in client.read_flow_run_states(run.id)}
            result.append(
                {
                    "id": str(run.id),
                    "state": run.state.type.value,
                    "message": run.state.message or "",
                    "pending": history.get("PENDING"),
                    "running": history.get("RUNNING"),
                    "completed": history.get("COMPLETED"),
                }
            )
    return result


def check_articles(pg_url: str, newsroom_size: int, flow_run_id: str) -> None:
    """The newsroom's articles are in the newswatch database, stored by that one run."""
    database = open_database(pg_url)
    try:
        with database.engine.connect() as conn:
            articles = list(conn.execute(select(ArticleRow.canonical_url, ArticleRow.lang)))
            runs = list(
                conn.execute(select(RunRow.status, RunRow.new_articles, RunRow.flow_run_id))
            )
    finally:
        database.dispose()
    assert len(articles) == newsroom_size
    assert len({a.canonical_url for a in articles}) == newsroom_size
    assert {a.lang for a in articles} == {"ko", "en", "zh"}
    assert [tuple(r) for r in runs] == [("completed", newsroom_size, flow_run_id)]
