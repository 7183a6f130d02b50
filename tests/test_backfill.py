"""Backfills for real: sitemaps, WARC archives and archived feeds served on loopback, stored in
SQLite and PostgreSQL by the backfill flow under a Prefect test server."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from benchmarks.generated import generate
from db.models import ArticleRow, BackfillWindowRow, EntryRow, RunRow, SourceRow
from flows.loopback import LoopbackSite, Route
from flows.newsroom import Newsroom, RenderOptions, article_path, feed_path, render_site
from flows.sitemap_site import INDEX_PATH, month_path, render_sitemaps
from pipeline.store.database import open_database

pytestmark = pytest.mark.usefixtures("prefect_api")

FEB = (date(2025, 2, 1), date(2025, 2, 28))


def history_newsroom(n: int = 60) -> Newsroom:
    """``n`` articles, one every 26 hours from 10 January 2025 (into March)."""
    return generate(
        n, per_feed=20, start=datetime(2025, 1, 10, 6, 0, tzinfo=UTC), every=timedelta(hours=26)
    )


def in_window(room: Newsroom, first: date, last: date) -> list[Any]:
    return [s for s in room.articles if first <= s.published.astimezone(UTC).date() <= last]


def write_sources(tmp_path: Path, site: LoopbackSite, sources: list[dict[str, Any]]) -> Path:
    path = tmp_path / "sources.yaml"
    settings = {
        "allow_hosts": [f"127.0.0.1:{site.port}"],
        "timeout": 5.0,
        "connect_timeout": 2.0,
        "extract_workers": 2,
    }
    path.write_text(
        yaml.safe_dump({"settings": settings, "sources": sources}, sort_keys=False),
        encoding="utf-8",
    )
    return path


def serve_history(site: LoopbackSite, room: Newsroom) -> None:
    site.update(render_site(room, site.base_url, RenderOptions(tracking=False)).items())
    site.update(render_sitemaps(room, site.base_url, gzip_months={"2025-02"}).items())


def run_backfill(sources: Path, db_url: str, first: date, last: date, **kw: Any) -> dict[str, Any]:
    from flows.backfill import backfill

    result: dict[str, Any] = backfill(
        start=first.isoformat(),
        end=last.isoformat(),
        sources=str(sources),
        db=db_url,
        show_progress=False,
        **kw,
    )
    return result


def stored_urls(db_url: str) -> list[str]:
    database = open_database(db_url, check=False)
    try:
        with database.engine.connect() as conn:
            return [row[0] for row in conn.execute(select(ArticleRow.url))]
    finally:
        database.dispose()


def windows(db_url: str) -> list[tuple[str, date, int | None]]:
    database = open_database(db_url, check=False)
    try:
        with database.engine.connect() as conn:
            rows = conn.execute(
                select(SourceRow.name, BackfillWindowRow.day, BackfillWindowRow.run_id)
                .join(SourceRow, SourceRow.id == BackfillWindowRow.source_id)
                .order_by(SourceRow.name, BackfillWindowRow.day)
            )
            return [(r[0], r[1], r[2]) for r in rows]
    finally:
        database.dispose()


def test_sitemap_backfill_stores_the_window_once_and_resumes_nothing(
    site: LoopbackSite, tmp_path: Path, db_url: str
) -> None:
    open_database(db_url, upgrade=True).dispose()
    room = history_newsroom()
    serve_history(site, room)
    sources = write_sources(
        tmp_path, site, [{"name": "history", "kind": "sitemap", "url": site.url(INDEX_PATH)}]
    )
    wanted = in_window(room, *FEB)
    assert 20 <= len(wanted) < len(room.articles)

    first = run_backfill(sources, db_url, *FEB)

    assert sorted(stored_urls(db_url)) == sorted(site.url(article_path(s)) for s in wanted)
    assert first["totals"]["new"] == len(wanted)
    assert first["totals"]["failed"] == 0
    assert first["backfill"]["done_now"] == 28
    # The January sitemap changed last before the window: never fetched. March is read, but
    # none of its pages is fetched; the gzipped February sitemap was read.
    assert site.hits[month_path("2025-01", False)] == 0
    assert site.hits[month_path("2025-02", True)] == 1
    assert site.hits[month_path("2025-03", False)] == 1
    outside = [s for s in room.articles if s not in wanted]
    assert all(site.hits[article_path(s)] == 0 for s in outside)
    assert all(site.hits[article_path(s)] == 1 for s in wanted)
    days = windows(db_url)
    assert [d for _, d, _ in days] == [date(2025, 2, 1) + timedelta(n) for n in range(28)]
    run_ids = {run for _, _, run in days}
    assert run_ids == {first["run_id"]}

    second = run_backfill(sources, db_url, *FEB)

    assert second["totals"]["new"] == 0
    assert second["backfill"]["already_done"] == 28
    assert second["backfill"]["done_now"] == 0
    assert all(site.hits[article_path(s)] == 1 for s in wanted)  # nothing fetched again
    assert windows(db_url) == days
    database = open_database(db_url, check=False)
    try:
        with database.engine.connect() as conn:
            kinds = conn.execute(select(RunRow.kind, RunRow.status).order_by(RunRow.id)).all()
    finally:
        database.dispose()
    assert [tuple(k) for k in kinds] == [("backfill", "completed"), ("backfill", "completed")]


def test_backfill_and_live_collect_store_each_article_once(
    site: LoopbackSite, tmp_path: Path, sqlite_url: str
) -> None:
    from flows.collect import collect

    room = history_newsroom()
    serve_history(site, room)
    feeds = [
        {"name": f"feed-{o.id}", "url": site.url(feed_path(o)), "lang": o.lang}
        for o in room.outlets
    ]
    sources = write_sources(
        tmp_path,
        site,
        [*feeds, {"name": "history", "kind": "sitemap", "url": site.url(INDEX_PATH)}],
    )
    live = collect(sources=str(sources), db=sqlite_url, show_progress=False)
    assert live["totals"]["new"] == len(room.articles)  # the feeds list every article
    # The sitemap source only: the feeds' own archives would hold the same pages again.
    summary = run_backfill(sources, sqlite_url, date(2025, 1, 1), date(2025, 3, 31))

    urls = stored_urls(sqlite_url)
    assert len(urls) == len(set(urls)) == len(room.articles)
    assert summary["totals"]["new"] == 0
    assert all(site.hits[article_path(s)] == 1 for s in room.articles)


def test_unreachable_child_sitemap_leaves_its_days_open_for_the_next_run(
    site: LoopbackSite, tmp_path: Path, sqlite_url: str
) -> None:
    room = history_newsroom()
    serve_history(site, room)
    routes = render_sitemaps(room, site.base_url, gzip_months={"2025-02"})
    feb = month_path("2025-02", True)
    site.add(feb, Route(b"down", status=500, content_type="text/plain"))
    sources = write_sources(
        tmp_path, site, [{"name": "history", "kind": "sitemap", "url": site.url(INDEX_PATH)}]
    )

    first = run_backfill(sources, sqlite_url, *FEB)

    assert first["backfill"]["done_now"] == 0
    assert first["backfill"]["incomplete"] == ["history"]
    assert first["totals"]["failed"] >= 1
    assert windows(sqlite_url) == []

    site.add(feb, routes[feb])
    second = run_backfill(sources, sqlite_url, *FEB)

    assert second["backfill"]["done_now"] == 28
    assert second["totals"]["new"] == len(in_window(room, *FEB))


def _warc_response(
    writer: WARCWriter, url: str, body: bytes, ctype: str, status: str, captured: datetime
) -> None:
    headers = StatusAndHeaders(
        f"{status} {'OK' if status == '200' else 'Not Found'}",
        [("Content-Type", ctype), ("Content-Length", str(len(body)))],
        protocol="HTTP/1.1",
    )
    record = writer.create_warc_record(
        url,
        "response",
        payload=io.BytesIO(body),
        http_headers=headers,
        warc_headers_dict={"WARC-Date": captured.strftime("%Y-%m-%dT%H:%M:%SZ")},
    )
    writer.write_record(record)


def write_warc(path: Path, room: Newsroom, base_url: str) -> None:
    """Every article page, captured an hour after publication, plus records to skip."""
    routes = render_site(room, base_url, RenderOptions(tracking=False))
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test"}))
        for story in room.articles:
            page = routes[article_path(story)]
            captured = story.published + timedelta(hours=1)
            _warc_response(
                writer,
                base_url + article_path(story),
                page.body,
                page.content_type,
                "200",
                captured,
            )
        february = datetime(2025, 2, 10, tzinfo=UTC)
        _warc_response(writer, base_url + "/logo.png", b"\x89PNG", "image/png", "200", february)
        _warc_response(
            writer, base_url + "/gone.html", b"<html>gone</html>", "text/html", "404", february
        )


def test_warc_backfill_keeps_html_pages_published_in_the_window(
    tmp_path: Path, db_url: str
) -> None:
    open_database(db_url, upgrade=True).dispose()
    room = history_newsroom()
    base = "https://archive-news.example"
    archive = tmp_path / "cc-news.warc.gz"
    write_warc(archive, room, base)
    with gzip.open(archive) as raw:
        assert raw.read(4) == b"WARC"
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        yaml.safe_dump({"sources": [{"name": "ccnews", "kind": "warc", "url": "cc-news.warc.gz"}]}),
        encoding="utf-8",
    )
    wanted = in_window(room, *FEB)

    first = run_backfill(sources, db_url, *FEB)

    assert sorted(stored_urls(db_url)) == sorted(base + article_path(s) for s in wanted)
    archive_report = first["backfill"]["archives"][0]
    assert archive_report["kept"] == len(wanted)
    # Captured an hour after publication: January pages are skipped unread; March pages are
    # extracted and then dropped by their published date.
    assert archive_report["captured_before_window"] > 0
    assert archive_report["published_outside_window"] > 0
    assert [d for _, d, _ in windows(db_url)] == [
        date(2025, 2, 1) + timedelta(n) for n in range(28)
    ]

    second = run_backfill(sources, db_url, *FEB)

    assert second["totals"]["new"] == 0
    assert second["backfill"]["archives"] == []  # every day done: the file is not read again
    assert len(stored_urls(db_url)) == len(wanted)


def _archived_feeds(room: Newsroom, base_url: str) -> dict[str, Route]:
    """One Atom feed per month, newest first, linked by RFC 5005 ``prev-archive``."""
    months = sorted({s.published.astimezone(UTC).strftime("%Y-%m") for s in room.articles})
    routes: dict[str, Route] = {}
    for index, month in enumerate(months):
        path = "/feed.xml" if index == len(months) - 1 else f"/archive/{month}.xml"
        prev = (
            f'<link rel="prev-archive" href="/archive/{months[index - 1]}.xml"/>'
            if index > 0
            else ""
        )
        stories = [s for s in room.articles if s.published.strftime("%Y-%m") == month]
        entries = "".join(
            f"<entry><title>{s.slug}</title><id>{base_url}{article_path(s)}</id>"
            f'<link href="{base_url}{article_path(s)}"/>'
            f"<updated>{s.published.isoformat()}</updated></entry>"
            for s in reversed(stories)
        )
        routes[path] = Route(
            (
                '<?xml version="1.0" encoding="utf-8"?>'
                '<feed xmlns="http://www.w3.org/2005/Atom"><title>archive</title>'
                f"<id>{base_url}/feed</id><updated>2025-03-31T00:00:00Z</updated>"
                f"{prev}{entries}</feed>"
            ).encode(),
            content_type="application/atom+xml",
        )
    return routes


def test_feed_archive_is_followed_back_until_the_window_is_covered(
    site: LoopbackSite, tmp_path: Path, sqlite_url: str
) -> None:
    room = history_newsroom()
    site.update(render_site(room, site.base_url, RenderOptions(tracking=False)).items())
    site.update(_archived_feeds(room, site.base_url).items())
    sources = write_sources(tmp_path, site, [{"name": "archived", "url": site.url("/feed.xml")}])
    window = (date(2025, 2, 1), date(2025, 2, 15))

    summary = run_backfill(sources, sqlite_url, *window)

    wanted = in_window(room, *window)
    assert sorted(stored_urls(sqlite_url)) == sorted(site.url(article_path(s)) for s in wanted)
    assert summary["backfill"]["done_now"] == 15
    # March (the live feed), February, and January, whose entries are older than the window.
    assert site.hits["/feed.xml"] == 1
    assert site.hits["/archive/2025-02.xml"] == 1
    assert site.hits["/archive/2025-01.xml"] == 1


def test_backfill_rejects_a_bad_range_and_unknown_sources(tmp_path: Path) -> None:
    from pipeline.errors import ConfigError

    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n  - name: history\n    kind: sitemap\n    url: https://a.example/s.xml\n",
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(ConfigError, match="before start"):
        run_backfill(sources, db, date(2025, 3, 1), date(2025, 2, 1))
    with pytest.raises(ConfigError, match="no source named 'nope'"):
        run_backfill(sources, db, *FEB, source=["nope"])


def test_backfill_entries_are_registered_like_live_entries(
    site: LoopbackSite, tmp_path: Path, sqlite_url: str
) -> None:
    room = history_newsroom(30)
    serve_history(site, room)
    sources = write_sources(
        tmp_path, site, [{"name": "history", "kind": "sitemap", "url": site.url(INDEX_PATH)}]
    )
    run_backfill(sources, sqlite_url, *FEB)
    database = open_database(sqlite_url, check=False)
    try:
        with database.engine.connect() as conn:
            states = dict(
                conn.execute(select(EntryRow.state, func.count()).group_by(EntryRow.state)).all()
            )
    finally:
        database.dispose()
    assert states == {"stored": len(in_window(room, *FEB))}


def _window_count(db_url: str) -> int:
    database = open_database(db_url, check=False)
    try:
        with database.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(BackfillWindowRow)) or 0)
    except Exception:  # the schema may not exist yet while the process starts
        return 0
    finally:
        database.dispose()


@pytest.mark.slow
def test_backfill_killed_midway_resumes_each_day_once_without_duplicates(
    site: LoopbackSite, tmp_path: Path, sqlite_url: str, prefect_api: str
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    room = history_newsroom()
    serve_history(site, room)
    wanted = in_window(room, *FEB)
    for story in wanted:  # slow pages, so that the kill lands in the middle
        path = article_path(story)
        site.add(path, Route(site.routes[path].body, delay=0.25))
    sources = write_sources(
        tmp_path, site, [{"name": "history", "kind": "sitemap", "url": site.url(INDEX_PATH)}]
    )
    data = yaml.safe_load(sources.read_text(encoding="utf-8"))
    data["settings"].update({"batch_size": 2, "backfill_batches": 1})
    sources.write_text(yaml.safe_dump(data), encoding="utf-8")
    command = [
        sys.executable, "-m", "flows.cli", "backfill", "--start", "2025-02-01",
        "--end", "2025-02-28", "--sources", str(sources), "--db", sqlite_url, "--no-progress",
    ]  # fmt: skip
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "NEWSWATCH_HOME": str(tmp_path)}
    process = subprocess.Popen(
        command,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while _window_count(sqlite_url) < 5:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "the backfill recorded no day in time"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the whole tree, as a crash or the OOM killer
        process.wait(timeout=30)
    before = windows(sqlite_url)
    assert 5 <= len(before) < 28, "the kill must land in the middle of the backfill"
    killed_run = before[0][2]
    hits_before = {s.slug: site.hits[article_path(s)] for s in wanted}

    summary = run_backfill(sources, sqlite_url, *FEB)

    after = windows(sqlite_url)
    assert [d for _, d, _ in after] == [date(2025, 2, 1) + timedelta(n) for n in range(28)]
    # Days the killed run finished keep its record and were not done again.
    assert [row for row in after if row[2] == killed_run] == before
    assert summary["backfill"]["already_done"] == len(before)
    assert summary["backfill"]["done_now"] == 28 - len(before)
    done_days = {d for _, d, _ in before}
    for story in wanted:
        day = story.published.astimezone(UTC).date()
        hits = site.hits[article_path(story)]
        if day in done_days:
            assert hits == hits_before[story.slug] == 1, story.slug
        else:
            assert hits in (1, 2), story.slug  # at most refetched once: it was in flight
    urls = stored_urls(sqlite_url)
    assert len(urls) == len(set(urls))
    assert sorted(urls) == sorted(site.url(article_path(s)) for s in wanted)


def test_warc_given_as_a_url_is_downloaded_once_through_the_guarded_client(
    site: LoopbackSite, tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSWATCH_HOME", str(tmp_path / "home"))
    room = history_newsroom(40)
    archive = tmp_path / "remote.warc.gz"
    write_warc(archive, room, "https://archive-news.example")
    site.add("/crawl/remote.warc.gz", Route(archive.read_bytes(), content_type="application/gzip"))
    sources = write_sources(
        tmp_path,
        site,
        [{"name": "remote", "kind": "warc", "url": site.url("/crawl/remote.warc.gz")}],
    )
    window = (date(2025, 2, 1), date(2025, 2, 10))

    summary = run_backfill(sources, sqlite_url, *window)

    assert summary["totals"]["new"] == len(in_window(room, *window)) > 0
    assert site.hits["/crawl/remote.warc.gz"] == 1
    kept = list((tmp_path / "home" / "archives").iterdir())
    assert len(kept) == 1 and kept[0].read_bytes() == archive.read_bytes()
    later = run_backfill(sources, sqlite_url, date(2025, 2, 11), date(2025, 2, 20))
    assert later["totals"]["new"] == len(in_window(room, date(2025, 2, 11), date(2025, 2, 20)))
    assert site.hits["/crawl/remote.warc.gz"] == 1  # the kept copy is read, not fetched again


def test_a_page_two_history_sources_list_is_fetched_once(
    site: LoopbackSite, tmp_path: Path, sqlite_url: str
) -> None:
    room = history_newsroom()
    serve_history(site, room)
    site.update(_archived_feeds(room, site.base_url).items())
    sources = write_sources(
        tmp_path,
        site,
        [
            {"name": "history", "kind": "sitemap", "url": site.url(INDEX_PATH)},
            {"name": "archived", "url": site.url("/feed.xml")},
        ],
    )

    summary = run_backfill(sources, sqlite_url, *FEB)

    wanted = in_window(room, *FEB)
    assert summary["totals"]["new"] == len(wanted)
    assert all(site.hits[article_path(s)] == 1 for s in wanted)
    assert summary["backfill"]["done_now"] == 2 * 28
