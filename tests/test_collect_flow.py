"""The collect flow for real: Prefect test server, loopback newsroom, SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from db.models import ArticleRow, FailureRow, RunRow, SourceRow
from flows.loopback import LoopbackSite, Route
from flows.newsroom import article_path
from pipeline.store.database import open_database
from tests.newsroom_fixture import add_sources, build_newsroom, serve_newsroom

pytestmark = pytest.mark.usefixtures("prefect_api")


def _collect(sources: Path, db_url: str) -> dict[str, Any]:
    from flows.collect import collect

    result: dict[str, Any] = collect(sources=str(sources), db=db_url, show_progress=False)
    return result


def _rows(db_url: str, *columns: Any) -> list[Any]:
    database = open_database(db_url, check=False)
    try:
        with database.engine.connect() as conn:
            return list(conn.execute(select(*columns)))
    finally:
        database.dispose()


def _by_source(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["source"]: row for row in summary["sources"]}


def test_collect_stores_articles_then_second_run_adds_nothing(
    site: LoopbackSite, tmp_path: Path, db_url: str
) -> None:
    from pipeline.store.database import open_database as _open

    _open(db_url, upgrade=True).dispose()
    newsroom = build_newsroom()
    sources = serve_newsroom(site, tmp_path, newsroom)
    first = _collect(sources, db_url)
    assert first["totals"]["new"] == len(newsroom.articles)
    assert first["totals"]["failed"] == 0
    rows = _rows(
        db_url,
        ArticleRow.id,
        ArticleRow.canonical_url,
        ArticleRow.lang,
        ArticleRow.published_at,
        ArticleRow.title,
        ArticleRow.text,
    )
    assert len(rows) == len(newsroom.articles)
    assert {r.lang for r in rows} == {"ko", "en", "zh"}
    assert all("utm_" not in r.canonical_url for r in rows)
    assert all(
        r.published_at is not None and r.published_at.utcoffset().total_seconds() == 0 for r in rows
    )
    # The EUC-KR outlet (charset only in a meta tag) decodes to proper Hangul.
    euc = [r for r in rows if "/hanguk-it/" in r.canonical_url]
    assert euc and all(
        "딥시크" in r.text or "바이두" in r.text or "알리바바" in r.text for r in euc
    )
    # Feed dates are the outlet's local times, stored in UTC.
    story = next(s for s in newsroom.articles if s.outlet == "hanguk-it" and s.slug == "ko-0")
    stored = next(r for r in euc if r.canonical_url.endswith(article_path(story)))
    assert stored.published_at == story.published

    page_hits = sum(site.hits[article_path(s)] for s in newsroom.articles)
    second = _collect(sources, db_url)
    assert second["totals"]["new"] == 0
    assert {row["status"] for row in second["sources"]} == {"not_modified"}
    assert sum(site.hits[article_path(s)] for s in newsroom.articles) == page_hits
    again = _rows(db_url, ArticleRow.id, ArticleRow.canonical_url)
    assert sorted(again) == sorted((r.id, r.canonical_url) for r in rows)
    runs = _rows(db_url, RunRow.status, RunRow.new_articles)
    assert [tuple(r) for r in runs] == [("completed", len(newsroom.articles)), ("completed", 0)]


def test_hostile_feed_items_fail_alone_and_internal_addresses_are_never_contacted(
    site: LoopbackSite, canary: LoopbackSite, tmp_path: Path, sqlite_url: str
) -> None:
    sources = serve_newsroom(site, tmp_path)
    items = {
        "canary": canary.url("/"),
        "numeric": f"http://2130706433:{canary.port}/",  # 127.0.0.1 but not the allowed port
        "metadata": "http://169.254.169.254/latest/meta-data/",
        "redirect-in": site.url("/go-canary"),
        "redirect-loop": site.url("/loop-a"),
        "pdf": site.url("/report.pdf"),
        "huge": site.url("/huge.html"),
        "server-error": site.url("/broken.html"),
        "not-found": site.url("/missing.html"),
        "file": "file:///etc/passwd",
        "javascript": "javascript:alert(document.cookie)",
    }
    rss = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>hostile</title>"
        + "".join(
            f"<item><title>{name}</title><link>{url}</link></item>" for name, url in items.items()
        )
        + "</channel></rss>"
    ).encode()
    site.update(
        [
            ("/hostile.xml", Route(rss, content_type="application/rss+xml")),
            (
                "/go-canary",
                Route(status=302, headers=(("Location", canary.url("/latest/meta-data/")),)),
            ),
            ("/loop-a", Route(status=301, headers=(("Location", "/loop-b"),))),
            ("/loop-b", Route(status=301, headers=(("Location", "/loop-a"),))),
            ("/report.pdf", Route(b"%PDF-1.7\n" + b"0" * 2048, content_type="application/pdf")),
            ("/huge.html", Route(b"<p>" + b"x" * (1024 * 1024) + b"</p>", repeat=40)),
            ("/broken.html", Route(b"oops", status=500)),
        ]
    )
    add_sources(sources, [{"name": "hostile", "url": site.url("/hostile.xml"), "lang": "en"}])
    summary = _collect(sources, sqlite_url)
    hostile = _by_source(summary)["hostile"]
    assert hostile["skipped"] == 2  # file: and javascript: are not usable links
    reasons = {f["url"]: f["reason"] for f in summary["failures"] if f["source"] == "hostile"}
    assert reasons == {
        items["canary"]: "blocked_address",
        items["numeric"]: "blocked_address",
        items["metadata"]: "blocked_address",
        items["redirect-in"]: "blocked_address",
        items["redirect-loop"]: "redirects",
        items["pdf"]: "unsupported_content",
        items["huge"]: "too_large",
        items["server-error"]: "http_5xx",
        items["not-found"]: "http_4xx",
    }
    assert canary.total_hits() == 0
    # The good sources were collected in the same run.
    assert summary["totals"]["new"] == len(build_newsroom().articles)
    stored = _rows(sqlite_url, FailureRow.reason)
    assert len(stored) == len(reasons)


def test_bad_sources_fail_alone(site: LoopbackSite, tmp_path: Path, sqlite_url: str) -> None:
    sources = serve_newsroom(site, tmp_path, extra_settings={"timeout": 1.0})
    good_item = "<item><title>kept</title><link>{}</link></item>"
    site.update(
        [
            ("/feed-500.xml", Route(b"down", status=500)),
            ("/feed-slow.xml", Route(b"<rss/>", delay=3.0)),
            ("/feed-html.xml", Route(b"<!DOCTYPE html><html><body><p>Welcome</p></body></html>")),
            (
                "/feed-broken.xml",
                Route(
                    (
                        "<rss version='2.0'><channel><title>broken & bad</title>"
                        + good_item.format(site.url("/model-wire/2025/03/en-0.html"))
                        + "<item><title>unclosed</channel>"
                    ).encode(),
                    content_type="application/rss+xml",
                ),
            ),
        ]
    )
    add_sources(
        sources,
        [
            {"name": "down", "url": site.url("/feed-500.xml")},
            {"name": "slow", "url": site.url("/feed-slow.xml")},
            {"name": "html", "url": site.url("/feed-html.xml")},
            {"name": "broken", "url": site.url("/feed-broken.xml")},
        ],
    )
    summary = _collect(sources, sqlite_url)
    rows = _by_source(summary)
    assert rows["down"]["status"] == "failed" and "http_5xx" in rows["down"]["reasons"][0]
    assert rows["slow"]["status"] == "failed" and "timeout" in rows["slow"]["reasons"][0]
    assert rows["html"]["status"] == "failed" and "HTML" in rows["html"]["reasons"][0]
    assert rows["broken"]["status"] == "ok" and rows["broken"]["entries"] >= 1
    assert any("malformed" in w for w in rows["broken"]["warnings"])
    assert summary["totals"]["new"] == len(build_newsroom().articles)
    health = {
        r.name: r
        for r in _rows(
            sqlite_url, SourceRow.name, SourceRow.consecutive_failures, SourceRow.last_error
        )
    }
    assert health["down"].consecutive_failures == 1 and "500" in health["down"].last_error
    assert health["demo-hanguk-it"].consecutive_failures == 0


def test_summary_is_stored_as_a_prefect_table_artifact(
    site: LoopbackSite, tmp_path: Path, sqlite_url: str
) -> None:
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    sources = serve_newsroom(site, tmp_path)
    summary = _collect(sources, sqlite_url)
    [(flow_run_id,)] = _rows(sqlite_url, RunRow.flow_run_id)
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(flow_run_id)])
            )
        )
    [artifact] = [a for a in artifacts if a.key == "collect-summary"]
    assert artifact.type == "table"
    data = artifact.data if isinstance(artifact.data, str) else str(artifact.data)
    for row in summary["sources"]:
        assert row["source"] in data
    assert "TOTAL" in data


def test_transient_page_failure_is_retried_next_run_although_the_feed_is_unchanged(
    site: LoopbackSite, tmp_path: Path, sqlite_url: str
) -> None:
    newsroom = build_newsroom()
    sources = serve_newsroom(site, tmp_path, newsroom)
    flaky = next(s for s in newsroom.articles if s.outlet == "model-wire")
    good = site.routes[article_path(flaky)]
    calls = {"n": 0}

    def first_down(handler: object) -> Route:
        calls["n"] += 1
        return Route(b"busy", status=500) if calls["n"] == 1 else good

    site.add(article_path(flaky), Route(dynamic=first_down))
    first = _collect(sources, sqlite_url)
    assert first["totals"]["failed"] == 1
    assert first["totals"]["new"] == len(newsroom.articles) - 1
    second = _collect(sources, sqlite_url)
    assert {row["status"] for row in second["sources"]} == {"not_modified"}
    assert second["totals"]["new"] == 1 and second["totals"]["failed"] == 0
    assert len(_rows(sqlite_url, ArticleRow.id)) == len(newsroom.articles)
