"""Page extraction on a Dask cluster: real LocalClusters (worker processes), real Prefect runs,
the loopback newsroom; the local runner for comparison."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import distributed
import psutil
import pytest
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select

from db.models import ArticleRow, RunRow
from flows import progress
from flows.loopback import LoopbackSite, Route
from flows.newsroom import article_path, render_site
from flows.runners import PagesFuture, page_runner, submit_pages
from flows.tasks import fetch_pages
from pipeline import pages
from pipeline.errors import ConfigError, is_transient
from pipeline.fetch_settings import FetchSettings
from pipeline.records import Entry, PageOutcome
from pipeline.settings import Settings, load_settings
from pipeline.sources import load_sources
from pipeline.store.database import open_database
from tests.newsroom_fixture import build_newsroom, serve_newsroom

NOW = datetime(2025, 4, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.LocalCluster]:
    """Two single-threaded worker processes on 127.0.0.1, as a remote cluster would run."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
    ) as running:
        yield running


class CountingBar(progress.PageBar):
    """A page bar that counts what it is told (the real one draws nothing without a TTY)."""

    def __init__(self) -> None:
        super().__init__(None)
        self.pages: list[str] = []

    def advance(self, outcome: PageOutcome) -> None:
        self.pages.append(outcome.entry.url)


def _entries(site: LoopbackSite) -> list[Entry]:
    newsroom = build_newsroom()
    site.update(render_site(newsroom, site.base_url).items())
    return [
        Entry(source="s", url=site.url(article_path(s)), link=site.url(article_path(s)))
        for s in newsroom.articles
    ]


def _fetch_settings(site: LoopbackSite) -> FetchSettings:
    return FetchSettings(allow_hosts=(f"127.0.0.1:{site.port}",), timeout=5.0, extract_workers=2)


def _settings(runner: str, address: str | None = None) -> Settings:
    return Settings(
        db_url="sqlite://", home=Path("."), sources_path=Path("."), task_runner=runner,
        dask_address=address,
    )  # fmt: skip


def _articles(db_url: str) -> set[tuple[Any, ...]]:
    database = open_database(db_url, check=False)
    try:
        with database.engine.connect() as conn:
            rows = conn.execute(
                select(
                    ArticleRow.canonical_url,
                    ArticleRow.title,
                    ArticleRow.text,
                    ArticleRow.lang,
                    ArticleRow.published_at,
                )
            )
            return {tuple(row) for row in rows}
    finally:
        database.dispose()


def _task_runs(db_url: str) -> list[tuple[str, str]]:
    """Name and state of the fetch-pages task runs of the one collect run in ``db_url``."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterFlowRunId

    database = open_database(db_url, check=False)
    try:
        with database.engine.connect() as conn:
            [flow_run_id] = conn.execute(select(RunRow.flow_run_id)).scalars()
    finally:
        database.dispose()
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(
                flow_run_id=TaskRunFilterFlowRunId(any_=[UUID(flow_run_id)])
            )
        )
    return [
        (r.name, r.state_type.value) for r in runs if r.name.startswith("pages ") and r.state_type
    ]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- the collect flow


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_api")
def test_collect_on_dask_stores_what_the_local_runner_stores_and_runs_on_the_workers(
    site: LoopbackSite,
    tmp_path: Path,
    cluster: distributed.LocalCluster,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.collect import collect

    newsroom = build_newsroom()
    # Small batches: several fetch-pages tasks; two extraction workers asked for, which a
    # daemonic Dask worker cannot start (the batch must extract in its own process instead).
    sources = serve_newsroom(site, tmp_path, newsroom, extra_settings={"batch_size": 4})
    batches = -(-len(newsroom.articles) // 4)
    local_db = f"sqlite:///{tmp_path / 'local.db'}"
    dask_db = f"sqlite:///{tmp_path / 'dask.db'}"

    local_bar, dask_bar = CountingBar(), CountingBar()
    monkeypatch.setattr(progress, "current", lambda: local_bar)
    monkeypatch.setenv("NEWSWATCH_TASK_RUNNER", "local")
    local = collect(sources=str(sources), db=local_db, show_progress=False)
    monkeypatch.setattr(progress, "current", lambda: dask_bar)

    monkeypatch.setenv("NEWSWATCH_TASK_RUNNER", "dask")
    monkeypatch.setenv("NEWSWATCH_DASK_ADDRESS", cluster.scheduler_address)
    with (
        distributed.Client(cluster.scheduler_address, set_as_default=False) as client,
        distributed.get_task_stream(client=client) as stream,
    ):
        remote = collect(sources=str(sources), db=dask_db, show_progress=False)
        worker_pids = client.run(os.getpid)  # the cluster outlives the run's connection

    assert local["totals"]["new"] == len(newsroom.articles) and local["totals"]["failed"] == 0
    assert remote["totals"] == local["totals"]
    stored = _articles(dask_db)
    assert len(stored) == len(newsroom.articles)
    assert stored == _articles(local_db)
    # Pages are counted in the flow's process: by the task locally, on arrival with Dask.
    assert len(local_bar.pages) == len(dask_bar.pages) == len(newsroom.articles)

    # Every fetch-pages batch ran as a Dask task on one of the cluster's worker processes.
    ran = [r for r in stream.data if str(r["key"]).startswith("fetch_pages")]
    assert len(ran) == batches, [r["key"] for r in stream.data]
    assert all(r["status"] == "OK" for r in ran)
    assert len(worker_pids) == 2 and {r["worker"] for r in ran} <= set(worker_pids)
    assert os.getpid() not in worker_pids.values()
    # ... and each reported its task run, named by the flow, to the flow's run in Prefect
    # (task run states reach the server as events: allow it a moment).
    expected = [(f"pages {i}/{batches}", "COMPLETED") for i in range(1, batches + 1)]
    deadline = time.monotonic() + 20
    while sorted(_task_runs(dask_db)) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    assert sorted(_task_runs(dask_db)) == expected


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_api")
def test_collect_with_an_unreachable_scheduler_fails_naming_the_setting(
    site: LoopbackSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows import runners
    from flows.collect import collect

    newsroom = build_newsroom()
    sources = serve_newsroom(site, tmp_path, newsroom)
    address = f"tcp://127.0.0.1:{_closed_port()}"
    monkeypatch.setattr(runners, "CONNECT_TIMEOUT", 1.0)
    monkeypatch.setenv("NEWSWATCH_TASK_RUNNER", "dask")
    monkeypatch.setenv("NEWSWATCH_DASK_ADDRESS", address)
    db_url = f"sqlite:///{tmp_path / 'newswatch.db'}"
    with pytest.raises(ConfigError, match="NEWSWATCH_DASK_ADDRESS") as raised:
        collect(sources=str(sources), db=db_url, show_progress=False)
    assert address in str(raised.value)
    database = open_database(db_url, check=False)
    try:
        with database.engine.connect() as conn:
            assert [r.status for r in conn.execute(select(RunRow.status))] == ["failed"]
    finally:
        database.dispose()
    assert sum(site.hits[article_path(s)] for s in newsroom.articles) == 0  # no page fetched


# --------------------------------------------------------------------------- page_runner


def test_local_runner_is_the_flows_own() -> None:
    with page_runner(load_settings(env={})) as runner:
        assert runner is None


@pytest.mark.parametrize("address", ["closed-port", "tcp://no-such-host.invalid:8786"])
def test_an_unreachable_address_is_a_config_error_naming_the_setting(address: str) -> None:
    if address == "closed-port":
        address = f"tcp://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    with (
        pytest.raises(ConfigError, match="NEWSWATCH_DASK_ADDRESS") as raised,
        page_runner(_settings("dask", address), connect_timeout=1.0),
    ):
        pytest.fail("the runner must not start")
    assert address in str(raised.value)
    assert time.monotonic() - started < 15


@flow(persist_result=False)
def _pages_flow(settings: Settings, entries: list[Entry], fetch: FetchSettings) -> dict[str, Any]:
    """One fetch-pages batch through page_runner/submit_pages, as collect and backfill do."""
    with page_runner(settings) as runner:
        future = submit_pages(
            runner, fetch_pages, {"entries": entries, "sources": {}, "fetch": fetch, "now": NOW}
        )
        outcomes = future.result()
        again = future.result()
        info: dict[str, Any] = {"kind": type(future).__name__, "same": again is outcomes}
        if runner is not None:
            client = runner.client  # type: ignore[attr-defined]
            info["cluster"] = client.cluster
            info["nthreads"] = client.nthreads()
            info["worker_pids"] = set(client.run(os.getpid).values())
            info["daemonic"] = set(
                client.run(lambda: multiprocessing.current_process().daemon).values()
            )
    info["outcomes"] = outcomes
    return info


@pytest.mark.usefixtures("prefect_api")
def test_local_runner_counts_pages_from_the_task_as_before(
    site: LoopbackSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    bar = CountingBar()
    monkeypatch.setattr(progress, "current", lambda: bar)
    entries = _entries(site)
    info = _pages_flow(_settings("local"), entries, _fetch_settings(site))
    assert info["kind"] == "PrefectConcurrentFuture"  # the flow's own thread pool
    assert sorted(bar.pages) == sorted(e.url for e in entries)
    assert all(o.article is not None for o in info["outcomes"])


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_api")
def test_a_local_cluster_is_started_for_the_run_counts_pages_once_and_is_closed_with_it(
    site: LoopbackSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    bar = CountingBar()
    monkeypatch.setattr(progress, "current", lambda: bar)
    entries = _entries(site)
    info = _pages_flow(_settings("dask"), entries, _fetch_settings(site))
    assert info["kind"] == "PagesFuture" and info["same"]
    assert sorted(o.entry.url for o in info["outcomes"]) == sorted(e.url for e in entries)
    assert all(o.article is not None for o in info["outcomes"])
    # Counted once, in this process, when the batch's result arrived (the worker's own bar is
    # invisible, and the callback and the result() calls do not count twice).
    assert sorted(bar.pages) == sorted(e.url for e in entries)
    # One single-threaded daemonic worker process per core, none of them this process.
    assert len(info["nthreads"]) == pages.worker_count(0)
    assert set(info["nthreads"].values()) == {1}
    assert info["daemonic"] == {True}
    assert os.getpid() not in info["worker_pids"]
    # Closing the runner closed the cluster and its worker processes.
    assert info["cluster"].status.name == "closed"
    _gone, alive = psutil.wait_procs(
        [psutil.Process(pid) for pid in info["worker_pids"] if psutil.pid_exists(pid)], timeout=10
    )
    assert not alive


# --------------------------------------------------------------------------- inside a worker


def _extract_here(
    entries: list[Entry], fetch: FetchSettings, crash_url: str
) -> tuple[list[PageOutcome], bool, list[int]]:
    """Runs on a Dask worker: a batch whose parser raises on one page."""
    original = pages.extract_page

    def parser(page: Any, **kwargs: Any) -> Any:
        if page.url == crash_url:
            raise RecursionError("maximum recursion depth exceeded (hostile markup)")
        return original(page, **kwargs)

    pages.extract_page = parser
    try:
        outcomes = pages.fetch_and_extract(entries, {}, fetch, NOW, workers=2)
    finally:
        pages.extract_page = original
    children = [p.pid for p in psutil.Process().children(recursive=True)]
    return outcomes, multiprocessing.current_process().daemon, children


@pytest.mark.slow
def test_on_a_daemonic_worker_pages_extract_in_process_and_a_crash_fails_only_its_page(
    site: LoopbackSite, cluster: distributed.LocalCluster
) -> None:
    entries = _entries(site)
    crash = entries[3].url
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        outcomes, daemonic, children = client.submit(
            _extract_here, entries, _fetch_settings(site), crash, pure=False
        ).result(timeout=120)
    assert daemonic  # Dask worker processes are daemonic: multiprocessing refuses them a pool
    assert children == []  # so no forkserver and no pool were started
    assert sorted(o.entry.url for o in outcomes) == sorted(e.url for e in entries)
    [failed] = [o for o in outcomes if o.failure is not None]
    assert failed.entry.url == crash and failed.failure is not None
    assert failed.failure.reason == "extract_crash" and "RecursionError" in failed.failure.detail


@task(name="fetch-pages", cache_policy=NO_CACHE, persist_result=False)
def _dies(entries: list[Entry], sources: dict[str, Any], fetch: Any, now: datetime) -> Any:
    """A batch that takes its worker down, as a crash in C code or the OOM killer would."""
    os._exit(1)


@flow(persist_result=False)
def _dying_flow(address: str, entries: list[Entry]) -> list[PageOutcome]:
    with page_runner(_settings("dask", address)) as runner:
        future = submit_pages(
            runner, _dies, {"entries": entries, "sources": {}, "fetch": None, "now": NOW}
        )
        assert isinstance(future, PagesFuture)
        outcomes: list[PageOutcome] = future.result()
    return outcomes


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_api")
def test_a_batch_that_kills_its_worker_becomes_transient_failures_of_its_pages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bar = CountingBar()
    monkeypatch.setattr(progress, "current", lambda: bar)
    entries = [
        Entry(source="s", url=f"http://127.0.0.1:9/{i}", link=f"http://127.0.0.1:9/{i}")
        for i in range(3)
    ]
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
        scheduler_kwargs={"allowed_failures": 0},  # production clusters retry 3 times first
    ) as dying:
        outcomes = _dying_flow(dying.scheduler_address, entries)
    assert [o.entry for o in outcomes] == entries
    assert all(o.failure is not None and o.failure.reason == "extract_crash" for o in outcomes)
    assert all(o.failure is not None and is_transient(o.failure.reason) for o in outcomes)
    assert len(bar.pages) == len(entries)


# --------------------------------------------------------------------------- records


def test_fetch_pages_parameters_and_outcomes_pickle(tmp_path: Path, site: LoopbackSite) -> None:
    sources = serve_newsroom(site, tmp_path)
    config = load_sources(sources)
    entries = _entries(site)
    outcomes = pages.fetch_and_extract(entries[:2], {}, _fetch_settings(site), NOW, workers=1)
    site.add("/gone.html", Route(b"no", status=404))
    gone = Entry(source="s", url=site.url("/gone.html"), link=site.url("/gone.html"))
    outcomes += pages.fetch_and_extract([gone], {}, _fetch_settings(site), NOW, workers=1)
    parameters = {
        "entries": entries,
        "sources": {s.name: s for s in config.feeds},
        "fetch": config.fetch,
        "now": NOW,
    }
    for value in (parameters, outcomes):
        assert pickle.loads(pickle.dumps(value)) == value
    assert {o.failure is None for o in outcomes} == {True, False}
