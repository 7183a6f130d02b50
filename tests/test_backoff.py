"""A failing source rests before its next poll: the schedule, and collect runs that honour it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import update

from db.models import SourceRow
from flows.loopback import LoopbackSite, Route
from pipeline.backoff import rest_until
from pipeline.store.database import open_database
from tests.newsroom_fixture import add_sources, serve_newsroom
from tests.test_cli import newswatch

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_one_failure_does_not_rest_then_the_rest_doubles_up_to_the_cap() -> None:
    assert rest_until(0, T0, 900, 3600) is None
    assert rest_until(1, T0, 900, 3600) is None  # a blip: polled again next run
    rests = [rest_until(n, T0, 900, 3600) for n in range(2, 7)]
    assert [r - T0 for r in rests if r] == [
        timedelta(minutes=15),
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=1),
        timedelta(hours=1),
    ]
    assert rest_until(50, T0, 900, 3600) == T0 + timedelta(hours=1)  # no overflow
    assert rest_until(5, None, 900, 3600) is None  # never polled (or a new URL)
    assert rest_until(5, T0, 0, 3600) is None  # switched off


def _collect(sources: Path, db_url: str) -> dict[str, Any]:
    from flows.collect import collect

    return collect(sources=str(sources), db=db_url, show_progress=False)


def _status(summary: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in summary["sources"] if s["source"] == name)


@pytest.mark.usefixtures("prefect_api")
def test_a_source_failing_twice_rests_and_a_new_url_ends_it(
    site: LoopbackSite, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'rest.db'}"
    site.add("/down.xml", Route(b"no", status=500))
    sources = serve_newsroom(site, tmp_path)
    add_sources(sources, [{"name": "down", "url": site.url("/down.xml")}])

    for run in (1, 2):
        summary = _collect(sources, db_url)
        assert _status(summary, "down")["status"] == "failed", run
    assert site.hits["/down.xml"] == 2

    rested = _collect(sources, db_url)  # at once: within the 15 minutes of rest
    down = _status(rested, "down")
    assert down["status"] == "resting" and site.hits["/down.xml"] == 2
    assert any("2 failures in a row" in w for w in down["warnings"])
    assert _status(rested, "demo-hanguk-it")["status"] in ("ok", "not_modified")

    env = {"NEWSWATCH_SOURCES": str(sources)}
    listed = newswatch("sources", "--db", db_url, "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    health = {s["name"]: s for s in json.loads(listed.stdout)}
    assert health["down"]["consecutive_failures"] == 2  # resting changes nothing stored
    assert health["down"]["resting_until"] is not None
    assert health["demo-hanguk-it"]["resting_until"] is None
    table = newswatch("sources", "--db", db_url, env=env)
    assert "resting until" in table.stdout

    # The rest is over once its time has passed (here: the last poll moved back an hour).
    db = open_database(db_url)
    with db.begin() as conn:
        conn.execute(
            update(SourceRow)
            .where(SourceRow.name == "down")
            .values(last_polled_at=datetime.now(UTC) - timedelta(hours=1))
        )
    db.dispose()
    assert _status(_collect(sources, db_url), "down")["status"] == "failed"
    assert site.hits["/down.xml"] == 3

    # The feed moved: a new URL is a new feed, polled at once.
    item = f"<item><title>moved</title><link>{site.url('/moved.html')}</link></item>"
    feed = f"<rss version='2.0'><channel><title>up</title>{item}</channel></rss>"
    site.add("/up.xml", Route(feed.encode(), content_type="application/rss+xml"))
    data = yaml.safe_load(sources.read_text(encoding="utf-8"))
    for source in data["sources"]:
        if source["name"] == "down":
            source["url"] = site.url("/up.xml")
    sources.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    moved = _status(_collect(sources, db_url), "down")
    assert moved["status"] == "ok", moved["reasons"]


@pytest.mark.usefixtures("prefect_api")
def test_backoff_zero_polls_failing_sources_every_run(site: LoopbackSite, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'norest.db'}"
    site.add("/down.xml", Route(b"no", status=500))
    sources = serve_newsroom(site, tmp_path, extra_settings={"source_backoff": 0})
    add_sources(sources, [{"name": "down", "url": site.url("/down.xml")}])
    for _ in range(3):
        assert _status(_collect(sources, db_url), "down")["status"] == "failed"
    assert site.hits["/down.xml"] == 3
