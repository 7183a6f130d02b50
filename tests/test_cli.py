"""The ``newswatch`` command as a user runs it: subprocesses, exit codes, output formats."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from db.models import ArticleRow, EntryRow, StoryRow
from flows.loopback import LoopbackSite
from flows.newsroom import article_path
from pipeline.export import EXPORT_FIELDS
from pipeline.store.database import open_database
from tests.newsroom_fixture import build_newsroom, serve_newsroom

ROOT = Path(__file__).resolve().parent.parent


def newswatch(
    *args: str, env: dict[str, str] | None = None, home: Path | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run the console entry point in a fresh interpreter."""
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("NEWSWATCH_", "PREFECT_API_URL"))
    }
    environ.update({"COLUMNS": "200", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    if home is not None:
        environ["NEWSWATCH_HOME"] = str(home)
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        check=False,
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _count(db_url: str, model: Any) -> int:
    database = open_database(db_url, check=False)
    try:
        with database.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        database.dispose()


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["collect"],
        ["export"],
        ["db", "upgrade"],
        ["info"],
        ["demo"],
        ["backfill"],
        ["runs"],
        ["alerts", "send"],
    ],
)
def test_help_explains_every_command(command: list[str]) -> None:
    result = newswatch(*command, "--help")
    assert result.returncode == 0
    assert "usage: newswatch" in result.stdout


def test_bad_sources_file_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "sources.yaml"
    bad.write_text(
        "settings:\n  timeout: 5\nsources:\n  - name: ok\n    url: https://a.example/rss\n"
        "  - name: typo\n    ulr: https://b.example/rss\n",
        encoding="utf-8",
    )
    result = newswatch("collect", "--sources", str(bad), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.returncode == 2
    assert f"{bad}:7" in result.stderr and "ulr" in result.stderr


def test_missing_sources_file_exits_2(tmp_path: Path) -> None:
    result = newswatch(
        "collect",
        "--sources",
        str(tmp_path / "nope.yaml"),
        "--db",
        f"sqlite:///{tmp_path / 'x.db'}",
    )
    assert result.returncode == 2 and "not found" in result.stderr


@pytest.mark.parametrize(
    "command",
    [["collect"], ["export"], ["info"], ["db", "upgrade"], ["runs"]],
)
def test_unreachable_database_exits_3(command: list[str]) -> None:
    result = newswatch(*command, "--db", "postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    assert result.returncode == 3
    assert "cannot reach the database" in result.stderr


def test_usage_error_exits_2() -> None:
    assert newswatch("export", "--format", "xml").returncode == 2
    assert newswatch("export", "--since", "yesterday-ish").returncode == 2


def test_info_shows_the_embedded_database_path(tmp_path: Path) -> None:
    result = newswatch("info", "--json", home=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["database"] == f"sqlite:///{tmp_path / 'newswatch.db'}"
    assert (tmp_path / "newswatch.db").exists()
    assert data["schema_revision"] == data["schema_head"]


@pytest.mark.usefixtures("prefect_api")
def test_collect_then_export_in_both_formats(
    site: LoopbackSite, tmp_path: Path, prefect_api: str
) -> None:
    sources = serve_newsroom(site, tmp_path)
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {"PREFECT_API_URL": prefect_api}
    result = newswatch("collect", "--sources", str(sources), "--db", db_url, env=env)
    assert result.returncode == 0, result.stderr
    assert "TOTAL" in result.stdout and "demo-hanguk-it" in result.stdout
    articles = len(build_newsroom().articles)

    lines = newswatch("export", "--db", db_url).stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == articles
    assert all(tuple(r) == EXPORT_FIELDS for r in records)
    first = records[0]
    assert first["published_at"].endswith("Z")
    assert all(set(r["topics"]) <= {"model_launch", "pricing", "investment"} for r in records)
    assert all(0.0 <= r["relevance"] <= 1.0 for r in records)
    assert any(r["topics"] for r in records) and any(r["entities"] for r in records)
    assert all(set(e) == {"name", "kind"} for r in records for e in r["entities"])

    out = tmp_path / "articles.csv"
    result = newswatch("export", "--format", "csv", "--output", str(out), "--db", db_url)
    assert result.returncode == 0 and f"{articles} articles written" in result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == articles and tuple(rows[0]) == EXPORT_FIELDS
    assert {r["title"] for r in rows} == {r["title"] for r in records}

    later = newswatch("export", "--db", db_url, "--since", "2025-03-22").stdout.splitlines()
    assert 0 < len(later) < articles

    again = newswatch("collect", "--json", "--sources", str(sources), "--db", db_url, env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["totals"]["new"] == 0


@pytest.mark.usefixtures("prefect_api")
def test_stories_show_and_recluster(site: LoopbackSite, tmp_path: Path, prefect_api: str) -> None:
    sources = serve_newsroom(site, tmp_path)
    db_url = f"sqlite:///{tmp_path / 'stories.db'}"
    env = {"PREFECT_API_URL": prefect_api}
    collected = newswatch("collect", "--json", "--sources", str(sources), "--db", db_url, env=env)
    assert collected.returncode == 0, collected.stderr
    clustering = json.loads(collected.stdout)["clustering"]
    assert clustering["copies"] >= 1
    stories = json.loads(newswatch("stories", "--json", "--db", db_url).stdout)
    assert len(stories) == clustering["stories_opened"]
    assert sum(s["articles"] for s in stories) == len(build_newsroom().articles)
    shared = next(s for s in stories if s["articles"] > 1)
    assert {"id", "title", "first_seen", "last_seen", "sources", "langs"} <= set(shared)
    table = newswatch("stories", "--db", db_url)
    assert table.returncode == 0 and "stories, latest first" in table.stdout

    records = [json.loads(line) for line in newswatch("export", "--db", db_url).stdout.splitlines()]
    copy = next(r for r in records if r["duplicate_of"])
    shown = newswatch("show", copy["url"], "--db", db_url)
    assert shown.returncode == 0 and "copy of #" in shown.stdout
    explained = json.loads(newswatch("show", copy["url"], "--json", "--db", db_url).stdout)
    assert explained["original_url"] == copy["duplicate_of"]
    assert explained["story"]["id"] == copy["story_id"]
    assert newswatch("show", "999999", "--db", db_url).returncode == 2

    labelled = json.loads(collected.stdout)["classification"]
    assert labelled["articles"] == len(records) and labelled["events_new"] >= 1
    reclassified = json.loads(newswatch("reclassify", "--json", "--db", db_url).stdout)
    assert reclassified["articles"] == len(records) and reclassified["events_changed"] == 0
    unknown = newswatch("entities", "--unknown", "--json", "--db", db_url)
    assert unknown.returncode == 0 and isinstance(json.loads(unknown.stdout), list)

    before = newswatch("export", "--db", db_url).stdout
    first = json.loads(newswatch("recluster", "--json", "--db", db_url).stdout)
    second = json.loads(newswatch("recluster", "--json", "--db", db_url).stdout)
    assert first == second and first["articles"] == len(records)
    assert newswatch("export", "--db", db_url).stdout == before


@pytest.mark.postgres
@pytest.mark.usefixtures("prefect_api")
def test_two_collects_at_once_on_postgresql_store_no_duplicates(
    site: LoopbackSite, tmp_path: Path, pg_url: str, prefect_api: str
) -> None:
    assert newswatch("db", "upgrade", "--db", pg_url).returncode == 0
    sources = serve_newsroom(site, tmp_path)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    environ.update(PREFECT_API_URL=prefect_api, PREFECT_SERVER_ANALYTICS_ENABLED="false")
    command = [
        sys.executable,
        "-m",
        "flows.cli",
        "collect",
        "--json",
        "--sources",
        str(sources),
        "--db",
        pg_url,
    ]
    runs = [
        subprocess.Popen(
            command,
            cwd=ROOT,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=240) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in outputs]
    news = [json.loads(out)["totals"]["new"] for out, _ in outputs]
    articles = len(build_newsroom().articles)
    assert sum(news) == articles
    assert _count(pg_url, ArticleRow) == articles
    assert _count(pg_url, EntryRow) == articles
    # One story per event: the same stories and copies as one run alone (into SQLite).
    alone = f"sqlite:///{tmp_path / 'alone.db'}"
    single = newswatch(
        "collect", "--sources", str(sources), "--db", alone, env={"PREFECT_API_URL": prefect_api}
    )
    assert single.returncode == 0, single.stderr
    assert _grouping(pg_url) == _grouping(alone)
    assert _grouping(alone)[1], "the fixture newsroom has syndicated copies"
    assert _count(pg_url, StoryRow) == _count(alone, StoryRow) > 0


def _grouping(db_url: str) -> tuple[set[frozenset[str]], set[tuple[str, str]]]:
    """Stories as sets of article paths, and (copy, original) path pairs: comparable across
    databases (ids and ports differ)."""
    database = open_database(db_url, check=False)
    try:
        with database.engine.connect() as conn:
            rows = conn.execute(
                select(
                    ArticleRow.id,
                    ArticleRow.canonical_url,
                    ArticleRow.story_id,
                    ArticleRow.duplicate_of,
                )
            ).all()
    finally:
        database.dispose()
    path = {ident: url.split("/", 3)[3] for ident, url, _, _ in rows}
    stories: dict[int, set[str]] = {}
    for ident, _, story, _ in rows:
        stories.setdefault(story, set()).add(path[ident])
    copies = {(path[ident], path[original]) for ident, _, _, original in rows if original}
    return {frozenset(members) for members in stories.values()}, copies


@pytest.mark.usefixtures("prefect_api")
def test_demo_serves_the_bundled_newsroom_and_stores_it(tmp_path: Path, prefect_api: str) -> None:
    result = newswatch("demo", "--port", "0", home=tmp_path, env={"PREFECT_API_URL": prefect_api})
    assert result.returncode == 0, result.stderr
    db_url = f"sqlite:///{tmp_path / 'newswatch.db'}"
    stored = _count(db_url, ArticleRow)
    assert stored >= 30
    assert "articles stored from the demo newsroom" in result.stdout
    assert "EUC-KR" not in result.stderr
    export = [json.loads(line) for line in newswatch("export", home=tmp_path).stdout.splitlines()]
    assert {r["lang"] for r in export} == {"ko", "en", "zh"}


@pytest.mark.postgres
@pytest.mark.usefixtures("prefect_api")
def test_database_lost_during_a_run_exits_3(
    site: LoopbackSite, tmp_path: Path, pg_url: str, prefect_api: str
) -> None:
    import time

    import psycopg

    from flows.loopback import Route
    from tests.conftest import PG_ADMIN_URL

    assert newswatch("db", "upgrade", "--db", pg_url).returncode == 0
    newsroom = build_newsroom()
    sources = serve_newsroom(site, tmp_path, newsroom)
    slow = article_path(newsroom.articles[0])
    site.add(slow, Route(site.routes[slow].body, delay=4.0))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWATCH_")}
    environ.update(PREFECT_API_URL=prefect_api, PREFECT_SERVER_ANALYTICS_ENABLED="false")
    run = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "collect", "--sources", str(sources), "--db", pg_url],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )

    def slow_hits() -> int:  # feed links carry tracking parameters
        return sum(n for path, n in site.hits.items() if path.split("?")[0] == slow)

    deadline = time.monotonic() + 60
    while slow_hits() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert slow_hits() == 1, "the run never reached its pages"
    name = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
    _, err = run.communicate(timeout=120)
    assert run.returncode == 3, err[-2000:]
    assert "database error" in err
