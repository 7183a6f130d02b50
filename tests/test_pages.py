"""Fetch-and-extract batches with real worker processes: limits, crashes, time limits."""

from __future__ import annotations

import os
import signal
import threading
from datetime import UTC, datetime
from typing import Any

import psutil
import pytest

from flows.loopback import LoopbackSite, Route
from flows.newsroom import article_path, render_site
from pipeline import pages
from pipeline.errors import is_transient
from pipeline.fetch_settings import FetchSettings
from pipeline.records import Entry, Page, PageOutcome
from tests.newsroom_fixture import build_newsroom

NOW = datetime(2025, 4, 1, tzinfo=UTC)


def _entries(site: LoopbackSite) -> list[Entry]:
    newsroom = build_newsroom()
    site.update(render_site(newsroom, site.base_url).items())
    return [
        Entry(source="s", url=site.url(article_path(s)), link=site.url(article_path(s)))
        for s in newsroom.articles
    ]


def _settings(site: LoopbackSite) -> FetchSettings:
    return FetchSettings(allow_hosts=(f"127.0.0.1:{site.port}",), timeout=5.0)


def test_every_entry_comes_back_once(site: LoopbackSite) -> None:
    entries = _entries(site)
    site.add("/gone.html", Route(b"no", status=404))
    gone = Entry(source="s", url=site.url("/gone.html"), link=site.url("/gone.html"))
    outcomes = pages.fetch_and_extract([*entries, gone], {}, _settings(site), NOW, workers=2)
    assert sorted(o.entry.url for o in outcomes) == sorted(e.url for e in [*entries, gone])
    assert sum(o.article is not None for o in outcomes) == len(entries)
    [failed] = [o for o in outcomes if o.failure is not None]
    assert failed.failure is not None and failed.failure.reason == "http_4xx"


def _extraction_workers() -> list[psutil.Process]:
    """Worker processes: the children of the forkserver (not the resource tracker)."""
    servers = [p for p in psutil.Process().children() if "forkserver" in " ".join(p.cmdline())]
    return [worker for server in servers for worker in server.children()]


def test_a_dying_worker_fails_only_its_pages_and_the_batch_goes_on(site: LoopbackSite) -> None:
    entries = _entries(site)
    killed = threading.Event()
    workers_seen: list[int] = []

    def kill_workers_once(outcome: PageOutcome) -> None:
        if killed.is_set():
            return
        killed.set()
        for worker in _extraction_workers():
            workers_seen.append(worker.pid)
            os.kill(worker.pid, signal.SIGKILL)  # as the OOM killer would

    outcomes = pages.fetch_and_extract(
        entries, {}, _settings(site), NOW, workers=2, on_done=kill_workers_once
    )
    assert killed.is_set() and workers_seen
    assert sorted(o.entry.url for o in outcomes) == sorted(e.url for e in entries)
    crashed = [o.failure for o in outcomes if o.failure is not None]
    assert all(f.reason == "extract_crash" and is_transient(f.reason) for f in crashed)
    stored = [o for o in outcomes if o.article is not None]
    # The pool was replaced: pages after the crash were extracted by new workers.
    assert len(stored) >= len(entries) - 2 * 4 - 1


def test_extraction_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "EXTRACT_TIME_LIMIT", 0.01)
    paragraphs = "".join(
        f"<div><p>paragraph {i} " + "words " * 40 + "</p></div>" for i in range(20_000)
    )
    body = f"<html><body><article>{paragraphs}</article></body></html>".encode()
    page = Page(
        "http://a.test/x",
        "http://a.test/x",
        200,
        (("Content-Type", "text/html; charset=utf-8"),),
        body,
        NOW,
    )
    entry = Entry(source="s", url=page.url, link=page.url)
    outcome: Any = pages.extract_entry(page, entry, None, NOW)
    assert outcome.failure is not None and outcome.failure.reason == "extract_timeout"
