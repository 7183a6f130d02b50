"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against the web app
served by uvicorn on 127.0.0.1 over a SQLite database collected from the loopback newsroom,
plus one hostile event whose title, evidence, names and article URL carry markup and script.

Playwright's own browser download is never used: the browser is /usr/bin/chromium. Without it
the browser tests skip on a workstation and fail in CI (where .ci/run installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select

from db.models import ArticleRow, EventRow, SourceRow, StoryRow
from flows.loopback import LoopbackSite
from pipeline.store.database import open_database
from pipeline.store.event_terms import term_rows, write_terms
from tests.newsroom_fixture import serve_newsroom

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=2">'
HOSTILE_TITLE = f"Baidu halves ERNIE prices {SCRIPT}{IMG}"
HOSTILE_URL = "javascript:window.__xss=3"
TOPIC_LABELS = {"model_launch": "Model launch", "pricing": "Pricing", "investment": "Investment"}


# --------------------------------------------------------------------------- the data


def add_hostile_event(db_url: str) -> int:
    """Insert a source, two articles (the original at a javascript: URL, a copy at https),
    their story and a tracked event whose every feed-derived text is hostile; return its id."""
    db = open_database(db_url)
    seen = datetime(2025, 3, 27, 8, 0, tzinfo=UTC)
    try:
        with db.begin() as conn:
            source_id = conn.execute(
                insert(SourceRow).values(
                    name="hostile-wire",
                    url="http://127.0.0.1:9/hostile.xml",
                    kind="feed",
                    lang="en",
                    tags=[],
                    consecutive_failures=0,
                    created_at=seen,
                )
            ).inserted_primary_key[0]
            first = int(conn.execute(select(func.max(ArticleRow.id))).scalar_one() or 0) + 1000
            evidence = f"Baidu <b>cut</b> the price of ERNIE X1 by half {SCRIPT}"
            article = {
                "source_id": source_id,
                "text": f"{evidence} {IMG}",
                "lang": "en",
                "fetched_at": seen,
                "story_id": first,
                "topics": [{"name": "pricing", "score": 1.0, "evidence": evidence}],
                "amounts": [],
            }
            story = {
                "id": first,
                "title": HOSTILE_TITLE,
                "lang": "en",
                "first_seen": seen,
                "last_seen": seen + timedelta(hours=2),
                "articles": 2,
                "sources": 1,
                "langs": ["en"],
                "updated_at": seen,
            }
            conn.execute(insert(StoryRow).values(**story))
            conn.execute(
                insert(ArticleRow),
                [
                    {
                        **article,
                        "id": first,
                        "canonical_url": HOSTILE_URL,
                        "url": HOSTILE_URL,
                        "final_url": HOSTILE_URL,
                        "title": HOSTILE_TITLE,
                        "published_at": seen,
                        "fingerprint": "f" * 64,
                        # executemany takes its columns from the first row: name them all
                        "duplicate_of": None,
                        "copy_method": None,
                        "copy_similarity": None,
                    },
                    {
                        **article,
                        "id": first + 1,
                        "canonical_url": "https://hostile.example/copy",
                        "url": "https://hostile.example/copy",
                        "final_url": "https://hostile.example/copy",
                        "title": f"Copy: {HOSTILE_TITLE}",
                        "published_at": seen + timedelta(hours=2),
                        "fingerprint": "e" * 64,
                        "duplicate_of": first,
                        "copy_method": "near",
                        "copy_similarity": 0.91,
                    },
                ],
            )
            topics = [{"name": "pricing", "score": 1.0, "evidence": evidence, "article_id": first}]
            entities = [
                {"name": "Baidu", "kind": "company", "articles": 2},
                {"name": IMG, "kind": "model", "articles": 1},
            ]
            amounts = [
                {
                    "raw": f"8 yuan {SCRIPT}",
                    "value": 8.0,
                    "currency": "CNY",
                    "value_usd": 1.1,
                    "kind": "price",
                    "modality": "announced",
                    "unit": "per million tokens",
                    "article_id": first,
                }
            ]
            conn.execute(
                insert(EventRow).values(
                    **story,
                    relevance=0.9,
                    topics=topics,
                    entities=entities,
                    amounts=amounts,
                    representative_id=first,
                    revision=1,
                    digest="d" * 64,
                )
            )
            write_terms(conn, {first: term_rows(first, topics, entities, ["en"])})
    finally:
        db.dispose()
    return first


@pytest.fixture(scope="module")
def dashboard_db(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> tuple[str, int]:
    """The loopback newsroom collected into SQLite, plus the hostile event (and its id)."""
    from flows.collect import collect

    folder = tmp_path_factory.mktemp("dashboard")
    db_url = f"sqlite:///{folder / 'dashboard.db'}"
    with LoopbackSite() as site:
        collect(sources=str(serve_newsroom(site, folder)), db=db_url, show_progress=False)
    return db_url, add_hostile_event(db_url)


@pytest.fixture(scope="module")
def server(dashboard_db: tuple[str, int]) -> Iterator[str]:
    """The web app served by uvicorn on a free loopback port; yields its base URL."""
    import uvicorn

    from pipeline.web.app import create_app

    database = open_database(dashboard_db[0])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(create_app(database), lifespan="off", log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(
        target=running.run, kwargs={"sockets": [listener]}, daemon=True, name="dashboard-web"
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not running.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the web server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=10)
        listener.close()
        database.dispose()


# --------------------------------------------------------------------------- the browser


def need_chromium() -> None:
    """Skip (fail in CI) without Debian's Chromium: playwright's download is never used."""
    if CHROMIUM.exists():
        return
    reason = (
        f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to "
        "run the dashboard in a browser; playwright's own browser download is not used"
    )
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, started by Playwright."""
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Watched:
    """A page with what it reported: console errors (CSP violations among them), uncaught
    script errors and dialogs (dismissed)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def assert_clean(self) -> None:
        assert self.page.evaluate("() => typeof window.__xss") == "undefined"
        assert not self.dialogs, self.dialogs
        assert not self.errors, self.errors


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    """A fresh browser page (its own context) at a laptop's window size."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    try:
        yield Watched(context.new_page())
    finally:
        context.close()


ROWS = "#events tbody tr[data-event-id]"


def api_events(server: str, **params: str) -> dict[str, Any]:
    answer = httpx.get(f"{server}/api/events", params={"limit": "200", **params}, timeout=10)
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


def save_screenshot(page: Any, folder: Path, name: str) -> Path:
    """A full-page screenshot in ``folder``, copied to $NEWSWATCH_SCREENSHOTS when set."""
    path = folder / name
    page.screenshot(path=str(path), full_page=True)
    extra = os.environ.get("NEWSWATCH_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        path = Path(shutil.copy(path, Path(extra) / name))
    print(f"dashboard screenshot: {path}")
    return path


class _Markup(HTMLParser):
    """Collects what a Content-Security-Policy without 'unsafe-inline' would block."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.blocked.append("inline <script>")
        if tag == "style":
            self.blocked.append("<style> element")
        self.blocked += [f"{name}= on <{tag}>" for name in names if name == "style"]
        self.blocked += [f"{name}= on <{tag}>" for name in names if name.startswith("on")]
        href = (dict(attrs).get("href") or "") if tag == "a" else ""
        if href.strip().lower().startswith(("javascript:", "data:", "vbscript:")):
            self.blocked.append(f"{href[:30]} link")


def blocked_by_the_policy(html: str) -> list[str]:
    """Inline scripts, style elements and attributes, event handlers and script links."""
    parser = _Markup()
    parser.feed(html)
    parser.close()
    return parser.blocked


# --------------------------------------------------------------------------- the tests


def test_timeline_table_and_filters_in_the_browser(
    watched: Watched, server: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = watched.page
    everything = api_events(server)
    events = everything["items"]
    assert len(events) >= 5
    page.goto(server + "/")

    page.wait_for_selector("#timeline svg rect.bar")
    assert page.locator("#timeline svg rect.bar").count() >= 5
    assert page.locator("#timeline svg .axis text").count() >= 4  # counts and days
    expect(page.locator(ROWS)).to_have_count(min(everything["total"], 50))
    expect(page.locator("#count")).to_contain_text(f"{everything['total']} events")
    legend = page.locator('.legend-item[data-topic="pricing"] .legend-count')
    expect(legend).to_have_text(re.compile(r"[1-9]\d*"))
    first = page.locator(ROWS).first
    assert first.get_attribute("data-event-id") == str(events[0]["id"])
    save_screenshot(page, tmp_path, "dashboard.png")

    # A topic that some events have and others do not: the table narrows, in place.
    counts = {t: sum(t in [x["name"] for x in e["topics"]] for e in events) for t in TOPIC_LABELS}
    topic = next(t for t, n in sorted(counts.items(), key=lambda kv: kv[1]) if n)
    assert counts[topic] < len(events)
    page.evaluate("() => { window.__sameDocument = true; }")  # gone if the page reloads
    page.select_option("#f-topic", topic)
    expect(page.locator(ROWS)).to_have_count(counts[topic])
    for row in page.locator(ROWS).all():
        assert topic in (row.get_attribute("data-topics") or "").split()
        expect(row.locator(".c-topics")).to_contain_text(TOPIC_LABELS[topic])
    assert page.evaluate("() => window.__sameDocument") is True
    assert f"topic={topic}" in page.url
    assert page.locator(f"#timeline rect.bar.dim:not(.t-{topic})").count() > 0

    # An entity on top of the topic, typed as an analyst would.
    with_topic = [e for e in events if topic in [t["name"] for t in e["topics"]]]
    name = with_topic[0]["entities"][0]["name"]
    wanted = api_events(server, topic=topic, entity=name)
    page.fill("#f-entity", name.lower())
    expect(page.locator(ROWS)).to_have_count(wanted["total"])
    expect(page.locator("#count")).to_contain_text("match the filters")

    # The filtered view survives a reload: the filters live in the URL.
    page.reload()
    expect(page.locator(ROWS)).to_have_count(wanted["total"])
    assert page.locator("#f-topic").input_value() == topic
    assert page.locator("#f-entity").input_value() == name.lower()

    # A bar of the timeline lists the events of its day.
    page.click("#f-clear")
    expect(page.locator(ROWS)).to_have_count(min(everything["total"], 50))
    bar = page.locator("#timeline rect.bar").first
    day = bar.get_attribute("data-day")
    assert day
    bar.click(force=True)  # the bar's hit area, drawn over it, takes the click
    that_day = api_events(server, since=day, until=day)
    expect(page.locator(ROWS)).to_have_count(that_day["total"])
    assert f"since={day}" in page.url and f"until={day}" in page.url
    assert page.locator("#f-since").input_value() == day
    watched.assert_clean()


def test_more_button_pages_through_the_events(watched: Watched, server: str) -> None:
    from playwright.sync_api import expect

    page = watched.page
    total = api_events(server)["total"]
    assert total > 6

    # The real API, asked for pages of three instead of the dashboard's fifty.
    def small_pages(route: Any) -> None:
        route.continue_(url=re.sub(r"limit=\d+", "limit=3", route.request.url))

    page.route(re.compile(r".*/api/events\?.*"), small_pages)
    page.goto(server + "/")
    expect(page.locator(ROWS)).to_have_count(3)
    expect(page.locator("#count")).to_contain_text(f"{total} events tracked · showing the latest 3")
    more = page.locator("#more")
    expect(more).to_have_text("Show 3 more")
    shown = 3
    while shown < total:
        more.click()
        shown = min(shown + 3, total)
        expect(page.locator(ROWS)).to_have_count(shown)
    expect(more).to_be_hidden()
    ids = [row.get_attribute("data-event-id") for row in page.locator(ROWS).all()]
    assert ids == [str(e["id"]) for e in api_events(server)["items"]]
    watched.assert_clean()


def test_hostile_feed_text_is_shown_as_text_and_never_runs(
    watched: Watched, server: str, dashboard_db: tuple[str, int]
) -> None:
    from playwright.sync_api import expect

    page = watched.page
    hostile = dashboard_db[1]

    # The table: the title and the hostile entity name are text; nothing ran.
    page.goto(server + "/")
    row = page.locator(f'{ROWS}[data-event-id="{hostile}"]')
    expect(row).to_have_count(1)
    expect(row.locator(".c-title a")).to_have_text(HOSTILE_TITLE)
    expect(row.get_by_text(SCRIPT, exact=False)).to_be_visible()
    expect(row.locator(".c-entities button.model")).to_have_text(IMG)
    assert page.locator("main img").count() == 0
    scripts = page.evaluate("() => Array.from(document.scripts, (s) => s.src)")
    assert scripts and all(s.startswith(server + "/static/") for s in scripts)
    options = page.locator("#entity-names option")
    assert IMG in [options.nth(i).get_attribute("value") for i in range(options.count())]

    # Filtering by the hostile name finds its event (the name travels in the query string).
    page.fill("#f-entity", IMG)
    expect(page.locator(ROWS)).to_have_count(1)
    watched.assert_clean()

    # The event page, rendered by the server.
    row_link = page.locator(f'{ROWS}[data-event-id="{hostile}"] .c-title a')
    row_link.click()
    page.wait_for_url(f"**/events/{hostile}")
    expect(page.locator("h1")).to_have_text(HOSTILE_TITLE)
    expect(page.get_by_text(SCRIPT, exact=False).first).to_be_visible()
    expect(page.locator("blockquote")).to_contain_text("<b>cut</b> the price of ERNIE X1 by half")
    expect(page.locator("a.chip.model")).to_have_text(IMG)
    expect(page.locator("table.amounts")).to_contain_text(f"8 yuan {SCRIPT}")
    assert page.locator("main img, main b, main script").count() == 0
    # The javascript: URL is shown, never a link; the https copy is a link.
    expect(page.get_by_text(HOSTILE_URL)).to_be_visible()
    assert page.locator("a", has_text=HOSTILE_URL).count() == 0
    hrefs = page.evaluate("() => Array.from(document.links, (a) => a.href)")
    assert not [h for h in hrefs if not h.startswith(("http://", "https://"))], hrefs
    assert page.locator('a.article-link[href="https://hostile.example/copy"]').count() == 1
    expect(page.locator(f"#article-{hostile + 1}")).to_contain_text("near, similarity 0.91")
    watched.assert_clean()


def test_pages_are_escaped_and_an_unknown_event_is_a_404_page(
    server: str, dashboard_db: tuple[str, int]
) -> None:
    hostile = dashboard_db[1]
    pages = {
        "/": 200,
        f"/events/{hostile}": 200,
        "/events/999999": 404,
        "/events/not-a-number": 404,
        "/events/0": 404,
        "/events/99999999999999999999": 404,
        "/events/%3Cimg%20src=x%20onerror=window.__xss=4%3E": 404,
    }
    for path, status in pages.items():
        answer = httpx.get(server + path, timeout=10)
        assert answer.status_code == status, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert "script-src 'self'" in answer.headers["content-security-policy"], path
        html = answer.text
        assert not blocked_by_the_policy(html), path
        if status == 404:
            assert "No tracked event" in html and 'href="/"' in html, path

    html = httpx.get(f"{server}/events/{hostile}", timeout=10).text
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html
    assert "window.__xss=1</script>" not in html and "<img" not in html
    assert 'href="javascript:' not in html.lower()
    assert 'href="https://hostile.example/copy"' in html
