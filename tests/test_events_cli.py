"""``newswatch events`` and ``newswatch event`` over events built from the loopback newsroom."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from flows.loopback import LoopbackSite
from tests.newsroom_fixture import serve_newsroom
from tests.test_cli import newswatch


@pytest.mark.usefixtures("prefect_api")
def test_events_in_three_formats_with_filters_and_one_event(
    site: LoopbackSite, tmp_path: Path
) -> None:
    from flows.collect import collect

    db = f"sqlite:///{tmp_path / 'events.db'}"
    collect(sources=str(serve_newsroom(site, tmp_path)), db=db, show_progress=False)

    listed = newswatch("events", "--db", db, "--json")
    assert listed.returncode == 0, listed.stderr
    events = json.loads(listed.stdout)
    assert events and all(e["topics"] for e in events)
    assert [e["last_seen"] for e in events] == sorted(
        (e["last_seen"] for e in events), reverse=True
    )

    table = newswatch("events", "--db", db)
    assert table.returncode == 0 and "tracked events, latest first" in table.stdout
    assert str(events[0]["id"]) in table.stdout

    rows = list(csv.DictReader(io.StringIO(newswatch("events", "--db", db, "--csv").stdout)))
    assert [int(r["id"]) for r in rows] == [e["id"] for e in events]
    assert all(
        json.loads(r["topics"]) == [t["name"] for t in e["topics"]]
        for r, e in zip(rows, events, strict=True)
    )

    def ids(*options: str) -> set[int]:
        result = newswatch("events", "--db", db, "--json", *options)
        assert result.returncode == 0, result.stderr
        return {e["id"] for e in json.loads(result.stdout)}

    everything = {e["id"] for e in events}
    pricing = {e["id"] for e in events if "pricing" in [t["name"] for t in e["topics"]]}
    assert ids("--topic", "pricing") == pricing and pricing
    named = next(n["name"] for e in events for n in e["entities"])
    assert ids("--entity", named.upper()) == {
        e["id"] for e in events if named in [n["name"] for n in e["entities"]]
    }
    chinese = {e["id"] for e in events if any(n.get("country") == "CN" for n in e["entities"])}
    assert ids("--country", "cn") == chinese and chinese  # Baidu, DeepSeek, Tencent... or models
    american = {e["id"] for e in events if any(n.get("country") == "US" for n in e["entities"])}
    assert ids("--country", "US") == american != chinese
    assert newswatch("events", "--db", db, "--country", "China").returncode == 2
    korean = {e["id"] for e in events if "ko" in e["langs"]}
    assert ids("--lang", "ko") == korean and korean != everything
    assert ids("--min-sources", "2") == {e["id"] for e in events if e["sources"] >= 2}
    assert ids("--since", "2030-01-01") == set()
    assert ids("--until", "2000-01-01") == set()
    assert ids("--since", "2025-01-01", "--until", "2030-01-01") == everything

    shown = newswatch("event", str(events[0]["id"]), "--db", db, "--json")
    detail = json.loads(shown.stdout)
    assert detail["id"] == events[0]["id"]
    assert len(detail["article_list"]) == detail["articles"]
    text = newswatch("event", str(events[0]["id"]), "--db", db)
    assert text.returncode == 0 and "articles" in text.stdout
    missing = newswatch("event", "999999", "--db", db)
    assert missing.returncode == 2 and "no tracked event 999999" in missing.stderr
    assert newswatch("events", "--db", db, "--json", "--csv").returncode == 2


@pytest.mark.usefixtures("prefect_api")
def test_stats_and_source_health(site: LoopbackSite, tmp_path: Path) -> None:
    from flows.collect import collect
    from flows.loopback import Route
    from tests.newsroom_fixture import add_sources

    db = f"sqlite:///{tmp_path / 'stats.db'}"
    sources = serve_newsroom(site, tmp_path)
    site.add("/down.xml", Route(b"gone", status=503, content_type="text/plain"))
    add_sources(sources, [{"name": "down", "url": site.url("/down.xml")}])
    collect(sources=str(sources), db=db, show_progress=False)

    events = json.loads(newswatch("events", "--db", db, "--json").stdout)
    stats = json.loads(newswatch("stats", "--db", db, "--json").stdout)
    per_topic = stats["per_topic_per_day"]
    assert sum(r["events"] for r in per_topic) == sum(len(e["topics"]) for e in events)
    assert {r["topic"] for r in per_topic} <= {"model_launch", "pricing", "investment"}
    assert max(r["events"] for r in stats["per_source"]) <= len(events)
    assert newswatch("stats", "--db", db).returncode == 0

    health = {s["name"]: s for s in json.loads(newswatch("sources", "--db", db, "--json").stdout)}
    assert health["down"]["consecutive_failures"] == 1 and health["down"]["last_success_at"] is None
    assert "503" in health["down"]["last_error"]
    working = [s for name, s in health.items() if name != "down"]
    assert all(s["consecutive_failures"] == 0 and s["articles"] > 0 for s in working)
    table = newswatch("sources", "--db", db)
    assert table.returncode == 0 and "never" in table.stdout
