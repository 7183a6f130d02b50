"""``newswatch serve`` and the flows it serves.

The slow tests run ``newswatch serve`` as a real process against a real Prefect server and a
loopback newsroom, and read what happened from the runs table and the Prefect API. The
quick ones cover the pure parts: the plan, the overrun notices, the server's environment,
the digest.
"""

from __future__ import annotations

import itertools
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psutil
import pytest
from sqlalchemy import select

from db.models import RunRow
from flows.local_server import LocalServer, LocalServerError, free_port, server_environment
from flows.loopback import LoopbackSite, Route
from flows.maintenance import digest_items, digest_markdown, parse_instant, recorded_run
from flows.newsroom import feed_path
from flows.serve import RunView, duration_text, is_skipped, make_plan, skip_notice
from pipeline.errors import ConfigError
from pipeline.settings import load_settings
from pipeline.store.database import open_database
from tests.newsroom_fixture import build_newsroom, serve_newsroom
from tests.serve_process import ROOT, ServeProcess, group_alive, serve_environment

LIMIT = "Deployment concurrency limit reached."
T0 = datetime(2025, 3, 20, 9, 0, tzinfo=UTC)
NOTICE = re.compile(
    r"collect run (\S+) skipped: the previous run (\S+) \(started (\d\d:\d\d:\d\d)\) is still "
    r"running(, longer than the 5s interval)?"
)


# --------------------------------------------------------------------------- the plan


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5s"), (90, "1m30s"), (1800, "30m"), (3600, "1h"), (5400, "1h30m"), (0.2, "0s")],
)
def test_duration_text(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_plan_takes_settings_then_flags(tmp_path: Path) -> None:
    env = {
        "NEWSWATCH_HOME": str(tmp_path),
        "NEWSWATCH_COLLECT_EVERY": "10m",
        "NEWSWATCH_TIMEZONE": "Asia/Seoul",
    }
    settings = load_settings(env=env)
    plan = make_plan(settings, None, None)
    assert (plan.every, plan.digest_cron, plan.timezone) == (600.0, "0 8 * * *", "Asia/Seoul")
    assert plan.db == f"sqlite:///{tmp_path / 'newswatch.db'}"
    assert Path(plan.sources).is_absolute() and Path(plan.sources).exists()
    flagged = make_plan(settings, "90s", "30  7 * * 1-5")
    assert (flagged.every, flagged.digest_cron) == (90.0, "30 7 * * 1-5")
    # A password is never stored with the deployments: runs inherit NEWSWATCH_DB instead.
    secret = load_settings(env={**env, "NEWSWATCH_DB": "postgresql+psycopg://u:pw@db/news"})
    assert make_plan(secret, None, None).db is None


@pytest.mark.parametrize(
    ("every", "cron", "message"),
    [
        ("soon", None, "--every='soon' is not a positive duration"),
        ("0", None, "--every='0' is not a positive duration"),
        (None, "61 8 * * *", "--digest-cron='61 8 * * *' is not a valid cron line"),
        (None, "0 8 * *", "--digest-cron='0 8 * *' is not a valid cron line"),
    ],
)
def test_plan_rejects_bad_flags(
    tmp_path: Path, every: str | None, cron: str | None, message: str
) -> None:
    settings = load_settings(env={"NEWSWATCH_HOME": str(tmp_path)})
    with pytest.raises(ConfigError, match=re.escape(message)):
        make_plan(settings, every, cron)


# --------------------------------------------------------------------------- overrun notices


def _run(
    name: str,
    state: str,
    *,
    expected: float | None = None,
    start: float | None = None,
    end: float | None = None,
    changed: float = 0.0,
    message: str = "",
) -> RunView:
    def at(seconds: float | None) -> datetime | None:
        return None if seconds is None else T0 + timedelta(seconds=seconds)

    return RunView(
        id=name,
        name=name,
        state=state,
        message=message,
        changed=T0 + timedelta(seconds=changed),
        expected=at(expected),
        start=at(start),
        end=at(end),
    )


# Prefect 3.9.1 gives a run the limit cancelled a start and an end: the moment it was refused.
EARLIER_SKIP = _run(
    "earlier-skip", "CANCELLED", expected=5, start=5, end=5, changed=5, message=LIMIT
)
DONE = _run("done-run", "COMPLETED", expected=-60, start=-58, end=-50, changed=-50)
FUTURE = _run("future-run", "SCHEDULED", expected=-1, changed=-100)


@pytest.mark.parametrize(
    ("holder", "skipped_at", "expected"),
    [
        (
            _run("slow-run", "RUNNING", expected=0, start=2, changed=2),
            7,
            "collect run next-run skipped: the previous run slow-run (started 18:00:00) is "
            "still running, longer than the 5s interval",
        ),
        (  # the holder's process is still starting: it holds the slot from Pending on
            _run("starting-run", "PENDING", expected=0, changed=0),
            3,
            "collect run next-run skipped: the previous run starting-run (started 18:00:00) is "
            "still running",
        ),
        (  # it finished since: it was the holder at the time
            _run("finished-run", "COMPLETED", expected=0, start=1, end=30, changed=30),
            12,
            "collect run next-run skipped: the previous run finished-run (started 18:00:00) is "
            "still running, longer than the 5s interval",
        ),
        (
            None,
            7,
            "collect run next-run skipped: the previous run was still running (one run at a "
            "time, every 5s)",
        ),
    ],
)
def test_skip_notice_names_the_run_that_held_the_slot(
    holder: RunView | None, skipped_at: float, expected: str
) -> None:
    skipped = _run("next-run", "CANCELLED", changed=skipped_at, message=LIMIT)
    runs = [DONE, FUTURE, EARLIER_SKIP, skipped, *([holder] if holder else [])]
    assert skip_notice(skipped, runs, 5.0, ZoneInfo("Asia/Seoul")) == expected


def test_only_runs_the_limit_cancelled_count_as_skipped() -> None:
    assert is_skipped(EARLIER_SKIP)
    assert not is_skipped(_run("by-hand", "CANCELLED", message="Cancelled by user"))
    assert not is_skipped(_run("crashed", "CRASHED", message=LIMIT))


# --------------------------------------------------------------------------- local server


def test_server_environment_uses_setting_names_prefect_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = server_environment({"PATH": "/bin", "PREFECT_API_URL": "http://x:1/api"}, tmp_path)
    assert env == {
        "PATH": "/bin",
        "PREFECT_HOME": str(tmp_path),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "events,flow_runs",
    }
    operator = {"PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "events"}
    assert server_environment(operator, tmp_path)["PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED"] == (
        "events"
    )
    # Prefect itself reads them so (a misspelt name would be silently ignored).
    from prefect.settings import Settings

    for key, value in env.items():
        if key.startswith("PREFECT_"):
            monkeypatch.setenv(key, value)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    prefect = Settings()
    assert prefect.home == tmp_path
    assert prefect.server.analytics_enabled is False
    assert prefect.server.services.db_vacuum.enabled_vacuum_types == {
        "events",
        "flow_runs",
        "orphans",
    }


def _server_processes(port: int) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "server" in cmdline and str(port) in cmdline:
            found.append(process)
    return found


@pytest.mark.slow
def test_a_server_that_cannot_start_is_reported_and_gone(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = LocalServer(tmp_path / "prefect", port=port)
        with pytest.raises(LocalServerError, match="exited with status") as failure:
            server.start()
    assert f"Port {port} is already in use" in " ".join(str(failure.value).split())
    assert server.pid is None
    assert not _server_processes(port)


# --------------------------------------------------------------------------- serve, for real


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The data folder of serve."""
    return tmp_path / "home"


@pytest.fixture
def serve_env(tmp_path: Path, home: Path, sqlite_url: str) -> dict[str, str]:
    """The environment serve runs in: PREFECT_API_URL unset, data under ``home``."""
    return serve_environment(home, sqlite_url, tmp_path / "prefect-client")


@pytest.fixture
def started() -> Iterator[list[ServeProcess]]:
    """Serve processes started by a test; never left running."""
    processes: list[ServeProcess] = []
    yield processes
    for process in processes:
        process.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "dead_api", "message"),
    [
        (["--every", "soon"], False, "--every='soon' is not a positive duration"),
        (
            ["--digest-cron", "61 8 * * *"],
            False,
            "--digest-cron='61 8 * * *' is not a valid cron line",
        ),
        (["--every", "5s"], True, "(PREFECT_API_URL) does not answer: ConnectError"),
    ],
    ids=["every", "digest-cron", "dead-api"],
)
def test_bad_configuration_exits_2_before_any_server_starts(
    home: Path, serve_env: dict[str, str], args: list[str], dead_api: bool, message: str
) -> None:
    env = dict(serve_env)
    if dead_api:  # a port nothing listens on
        env["PREFECT_API_URL"] = f"http://127.0.0.1:{free_port()}/api"
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "serve", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert "Starting a local Prefect server" not in result.stderr
    assert "Serving:" not in result.stderr
    assert not (home / "prefect").exists()


@pytest.mark.slow
def test_sigterm_while_the_server_starts_leaves_nothing_behind(
    home: Path, serve_env: dict[str, str], sqlite_url: str, started: list[ServeProcess]
) -> None:
    serve = ServeProcess(["--every", "5s"], serve_env, sqlite_url)
    started.append(serve)

    def server_child() -> psutil.Process | None:
        children = psutil.Process(serve.process.pid).children()
        return next((c for c in children if "server" in c.cmdline()), None)

    child = serve.wait_for("the server process", server_child, 120)
    assert serve.stop(signal.SIGTERM) < 30
    assert serve.process.returncode == 0, serve.output
    assert "Prefect UI:" not in serve.output  # it was stopped while starting
    assert "Traceback" not in serve.output
    # Stopped by serve itself before it exited (not later, by the kernel's parent-death signal).
    assert not group_alive(child.pid)


def _client() -> Any:
    from prefect import get_client

    return get_client(sync_client=True)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_serve_collects_on_schedule_runs_flows_by_hand_and_stops_on_sigterm(
    site: LoopbackSite,
    tmp_path: Path,
    home: Path,
    serve_env: dict[str, str],
    sqlite_url: str,
    started: list[ServeProcess],
) -> None:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy
    from prefect.settings import PREFECT_API_URL, temporary_settings

    newsroom = build_newsroom()
    sources = serve_newsroom(site, tmp_path, newsroom)
    serve = ServeProcess(["--sources", str(sources), "--every", "5s"], serve_env, sqlite_url)
    started.append(serve)
    api_url = serve.api_url()
    server = psutil.Process(serve.server_pid())
    port = api_url.removesuffix("/api").rsplit(":", 1)[1]
    assert server.cmdline()[-6:] == ["server", "start", "--host", "127.0.0.1", "--port", port]
    environ = server.environ()
    assert environ["PREFECT_HOME"] == str(home / "prefect")
    assert environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert environ["PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED"] == "events,flow_runs"

    serve.wait_for("a completed collect run", lambda: serve.completed("collect", 1), 300)
    # By hand, as an operator would, while collect keeps its schedule.
    by_hand = [
        subprocess.Popen(
            [sys.executable, "-m", "prefect", "deployment", "run", name, *params],
            env={**serve_env, "PREFECT_API_URL": api_url},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, params in (
            ("reclassify/newswatch", ["--param", "since=2025-03-01"]),
            ("digest/newswatch", []),
        )
    ]
    for process in by_hand:
        output, _ = process.communicate(timeout=180)
        assert process.returncode == 0, output
    collects = serve.wait_for(
        "two completed collect runs", lambda: serve.completed("collect", 2), 300
    )
    reclassified = serve.wait_for("a reclassify run", lambda: serve.completed("reclassify", 1), 300)
    digested = serve.wait_for("a digest run", lambda: serve.completed("digest", 1), 300)

    assert collects[0].summary["totals"]["new"] == len(newsroom.articles)
    assert reclassified[0].summary["classification"]["articles"] == len(newsroom.articles)
    digest_counts = digested[0].summary["classification"]
    events = digest_counts["events_new"] + digest_counts["events_changed"]
    assert events >= 1
    with temporary_settings({PREFECT_API_URL: api_url}), _client() as client:
        collect = client.read_deployment_by_name("collect/newswatch")
        assert collect.parameters == {
            "sources": str(sources),
            "db": sqlite_url,
            "show_progress": False,
        }
        assert [s.schedule.interval for s in collect.schedules] == [timedelta(seconds=5)]
        assert collect.global_concurrency_limit.limit == 1
        assert collect.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW
        digest = client.read_deployment_by_name("digest/newswatch")
        assert [(s.schedule.cron, s.schedule.timezone) for s in digest.schedules] == [
            ("0 8 * * *", "UTC")
        ]
        for name in ("backfill/newswatch", "reclassify/newswatch"):
            assert client.read_deployment_by_name(name).schedules == []
        backfill = client.read_deployment_by_name("backfill/newswatch")
        assert backfill.entrypoint == "flows.backfill.backfill"
        assert set(backfill.parameter_openapi_schema["required"]) == {"start", "end"}
        artifacts = {
            key: client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
            )
            for key in ("digest", "reclassify-summary")
        }
    assert [len(found) for found in artifacts.values()] == [1, 1]
    assert f"| {len(newsroom.articles)} |" in str(artifacts["reclassify-summary"][0].data)
    digest_md = str(artifacts["digest"][0].data)
    assert f"{events} tracked events written since" in digest_md
    assert digest_md.count("\n## ") == events
    assert any(story.title in digest_md for story in newsroom.articles)

    assert serve.stop(signal.SIGTERM) < 60
    assert serve.process.returncode == 0, serve.output
    assert "Traceback" not in serve.output
    assert "serve stopped" in serve.output
    # Stopped by serve itself before it exited (not later, by the kernel's parent-death signal).
    assert not group_alive(server.pid), "the local Prefect server outlived serve"
    assert (home / "prefect" / "prefect.db").exists()
    assert not [r for r in serve.runs() if r.status == "running"]


@pytest.fixture
def external_server(tmp_path: Path) -> Iterator[LocalServer]:
    """A Prefect server serve did not start (as with PREFECT_API_URL set by an operator)."""
    with LocalServer(tmp_path / "external-prefect") as server:
        yield server


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_overrunning_collects_never_overlap_and_skips_are_reported(
    site: LoopbackSite,
    tmp_path: Path,
    home: Path,
    serve_env: dict[str, str],
    sqlite_url: str,
    started: list[ServeProcess],
    external_server: LocalServer,
) -> None:
    newsroom = build_newsroom()
    sources = serve_newsroom(site, tmp_path, newsroom, extra_settings={"timeout": 30.0})
    # Every feed answers after 4 s; two at a time per host: a poll alone takes 8 s, longer
    # than the 5 s interval, on every run (a 304 waits as long as a 200).
    for outlet in newsroom.outlets:
        feed = site.routes[feed_path(outlet)]
        site.add(feed_path(outlet), Route(feed.body, content_type=feed.content_type, delay=4.0))
    env = {**serve_env, "PREFECT_API_URL": external_server.api_url}
    serve = ServeProcess(["--sources", str(sources), "--every", "5s"], env, sqlite_url)
    started.append(serve)

    serve.wait_for("two completed collect runs", lambda: serve.completed("collect", 2), 420)
    serve.wait_for(
        "a skip reported while a run overran",
        lambda: any(m.group(4) for m in NOTICE.finditer(serve.output)),
        120,
    )
    assert serve.stop(signal.SIGINT) < 60  # Ctrl-C
    assert serve.process.returncode == 0, serve.output
    assert "Traceback" not in serve.output
    assert f"Prefect API: {external_server.api_url}" in serve.output
    assert not (home / "prefect").exists(), "serve started a server of its own"
    assert external_server.pid is not None and psutil.pid_exists(external_server.pid)

    rows = serve.runs("collect")
    assert not [r for r in rows if r.status == "running"]
    spans = sorted((r.started_at, r.finished_at) for r in rows)
    for (_, end), (next_start, _) in itertools.pairwise(spans):
        assert end <= next_start, f"collect runs overlap: {spans}"

    notices = [m.groups() for m in NOTICE.finditer(serve.output)]
    skipped = [n[0] for n in notices]
    assert len(skipped) == len(set(skipped)), "a skip was reported twice"
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: external_server.api_url}), _client() as client:
        ran = {client.read_flow_run(r.flow_run_id).name for r in rows}
        for name in skipped:
            (run,) = client.read_flow_runs(flow_run_filter=_name_filter(name))
            assert run.state.type.value == "CANCELLED" and run.state.message == LIMIT
    # Skipped runs never started a collect (no runs row); the runs named as holders did.
    assert not set(skipped) & ran
    assert {n[1] for n in notices if n[3]} <= ran


def _name_filter(name: str) -> Any:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    return FlowRunFilter(name=FlowRunFilterName(any_=[name]))


# --------------------------------------------------------------------------- maintenance


def test_parse_instant() -> None:
    assert parse_instant("2025-03-01", "since") == datetime(2025, 3, 1, tzinfo=UTC)
    assert parse_instant("2025-03-01T09:00+09:00", "since") == datetime(2025, 3, 1, tzinfo=UTC)
    assert parse_instant(None, "since") is None
    assert parse_instant(" ", "since") is None
    with pytest.raises(ConfigError, match="since='yesterday' is not an ISO date"):
        parse_instant("yesterday", "since")


def _event(
    ident: int, title: str, *, revision: int, relevance: float, hours_ago: float
) -> dict[str, Any]:
    now = datetime(2025, 3, 21, 8, 0, tzinfo=UTC)
    return {
        "id": ident,
        "title": title,
        "revision": revision,
        "relevance": relevance,
        "topics": [{"name": "pricing", "score": 0.9}],
        "entities": [{"name": "DeepSeek", "kind": "company"}, {"name": "Baidu", "kind": "company"}],
        "amounts": [{"raw": "$0.14 per million tokens", "value": 0.14}],
        "articles": 3,
        "sources": 2,
        "langs": ["en", "zh"],
        "last_seen": now - timedelta(hours=hours_ago + 1),
        "updated_at": now - timedelta(hours=hours_ago),
    }


def test_digest_lists_events_written_in_the_window_most_relevant_first() -> None:
    now = datetime(2025, 3, 21, 8, 0, tzinfo=UTC)
    since = now - timedelta(hours=24)
    events = [
        _event(1, "Old news", revision=1, relevance=0.9, hours_ago=30),
        _event(2, "Price cut *again* [wire]", revision=3, relevance=0.5, hours_ago=2),
        _event(3, "DeepSeek launches R2", revision=1, relevance=0.8, hours_ago=23.9),
    ]
    items = digest_items(events, since)
    assert [(i.id, i.status, i.revision) for i in items] == [(3, "new", 1), (2, "changed", 3)]
    markdown = digest_markdown(items, since, now)
    assert markdown.startswith("# newswatch digest, 2025-03-21 08:00 UTC\n")
    assert "2 tracked events written since 2025-03-20 08:00 UTC: 1 new, 1 changed." in markdown
    assert markdown.index("## DeepSeek launches R2") < markdown.index("## Price cut")
    assert "## Price cut \\*again\\* \\[wire\\]" in markdown  # titles cannot inject Markdown
    assert "- event 2 (changed, revision 3); 3 articles from 2 sources (en, zh)" in markdown
    assert "- amounts: $0.14 per million tokens" in markdown
    assert "Old news" not in markdown
    empty = digest_markdown([], since, now)
    assert "0 tracked events written since" in empty and "##" not in empty


def test_a_maintenance_run_that_raises_is_recorded_as_failed(sqlite_url: str) -> None:
    database = open_database(sqlite_url, upgrade=True)
    try:
        with pytest.raises(RuntimeError), recorded_run(database, "digest", T0) as run_id:
            raise RuntimeError("the events table is on fire")
        with database.connect() as conn:
            row = conn.execute(select(RunRow).where(RunRow.id == run_id)).one()
    finally:
        database.dispose()
    assert (row.kind, row.status) == ("digest", "failed")
    assert row.summary == {"error": "RuntimeError: the events table is on fire"}
