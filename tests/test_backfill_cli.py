"""``newswatch backfill`` and ``newswatch runs`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.loopback import LoopbackSite
from flows.sitemap_site import INDEX_PATH
from tests.test_backfill import FEB, history_newsroom, in_window, serve_history, write_sources
from tests.test_cli import newswatch


def test_bad_ranges_and_unknown_sources_exit_2_before_any_work(tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n  - name: history\n    kind: sitemap\n    url: https://a.example/s.xml\n",
        encoding="utf-8",
    )
    common = ["--sources", str(sources), "--db", f"sqlite:///{tmp_path / 'x.db'}"]
    backwards = newswatch("backfill", "--start", "2025-03-01", "--end", "2025-02-01", *common)
    assert backwards.returncode == 2 and "before start" in backwards.stderr
    assert "Prefect" not in backwards.stderr  # refused before Prefect starts
    unknown = newswatch(
        "backfill", "--start", "2025-02-01", "--end", "2025-02-02", "--source", "nope", *common
    )
    assert unknown.returncode == 2 and "no source named 'nope'" in unknown.stderr
    garbled = newswatch("backfill", "--start", "February", "--end", "2025-02-02", *common)
    assert garbled.returncode == 2 and "not a date" in garbled.stderr


def test_a_bad_source_kind_is_named_with_file_and_line(tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n  - name: history\n    kind: archive\n    url: https://a.example/\n",
        encoding="utf-8",
    )
    result = newswatch(
        "backfill", "--start", "2025-02-01", "--end", "2025-02-02", "--sources", str(sources),
        "--db", f"sqlite:///{tmp_path / 'x.db'}",
    )  # fmt: skip
    assert result.returncode == 2
    assert f"{sources}:3" in result.stderr and "kind" in result.stderr


@pytest.mark.usefixtures("prefect_api")
def test_backfill_then_runs_lists_it_with_counts_and_failures(
    site: LoopbackSite, tmp_path: Path, prefect_api: str
) -> None:
    room = history_newsroom()
    serve_history(site, room)
    site.routes.pop(next(iter(p for p in site.routes if p.endswith("story-000025.html"))))
    sources = write_sources(
        tmp_path, site, [{"name": "history", "kind": "sitemap", "url": site.url(INDEX_PATH)}]
    )
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {"PREFECT_API_URL": prefect_api}
    result = newswatch(
        "backfill", "--start", FEB[0].isoformat(), "--end", FEB[1].isoformat(), "--sources",
        str(sources), "--db", db, "--json", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    wanted = len(in_window(room, *FEB))
    assert summary["totals"]["new"] == wanted - 1
    assert summary["totals"]["failed"] == 1
    assert summary["backfill"]["source_days"] == 28

    table = newswatch("runs", "--db", db)
    assert table.returncode == 0, table.stderr
    assert "backfill" in table.stdout and "completed" in table.stdout
    listed = json.loads(newswatch("runs", "--db", db, "--json").stdout)
    assert [(r["kind"], r["new_articles"], r["failed"]) for r in listed] == [
        ("backfill", wanted - 1, 1)
    ]
    detail = newswatch("runs", "--db", db, "--id", str(listed[0]["id"]))
    assert detail.returncode == 0
    assert "story-000025.html" in detail.stdout and "http_4xx" in detail.stdout
    missing = newswatch("runs", "--db", db, "--id", "999")
    assert missing.returncode == 2 and "no run 999" in missing.stderr
