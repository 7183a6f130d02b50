"""Alerts for real: events built by the pipeline from stored articles, a webhook receiver on
127.0.0.1 behind a ``json://`` Apprise URL, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from db.models import AlertRow, RunRow
from pipeline.alerts.dispatch import DispatchReport, queue_alerts, send_due
from pipeline.alerts.rules import load_rules, parse_rules, redact
from pipeline.classify import Classifier
from pipeline.cluster import cluster_pending
from pipeline.errors import ConfigError
from pipeline.extract import fingerprint
from pipeline.records import Article, Entry, PageOutcome, Source
from pipeline.settings import SEEDS_DIR
from pipeline.store.database import Database, open_database
from pipeline.store.entries import register_entries, save_outcomes
from pipeline.store.outbox import list_alerts
from pipeline.store.runs import start_run
from pipeline.store.sources import sync_sources
from pipeline.tracking import classify_pending

SEED = SEEDS_DIR / "000_2d32b73d0aa229da.txt"
T0 = datetime(2025, 3, 26, 6, 0, tzinfo=UTC)
SECRET = "s3cr3t-token-1234"


class Receiver:
    """A webhook endpoint on loopback: records every POST; can fail the first N."""

    def __init__(self, fail_first: int = 0) -> None:
        self.posts: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.fail_first = fail_first
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                owner.paths.append(self.path)
                if owner.fail_first > 0:
                    owner.fail_first -= 1
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                owner.posts.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/hook/{SECRET}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.close()


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = open_database(db_url, upgrade=True)
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.from_seeds(SEEDS_DIR)


def seed_parts() -> tuple[str, str]:
    text = SEED.read_text(encoding="utf-8")
    title, _, body = text.partition("\n")
    return title.strip(), body


def store(
    db: Database, classifier: Classifier, items: list[tuple[str, str, str, str]], now: datetime
) -> None:
    """Store (source, url, title, text) Korean articles, then cluster and classify them."""
    sources = sorted({s for s, *_ in items})
    ids = {
        name: state.id
        for name, state in sync_sources(
            db, [Source(s, f"https://{s}.example/rss") for s in sources], now
        ).items()
    }
    run = start_run(db, now)
    entries = [Entry(s, u, u, t, published_at=now, lang="ko") for s, u, t, _ in items]
    register_entries(db, entries, ids, now)
    outcomes = [
        PageOutcome(
            entry,
            article=Article(
                url=u,
                final_url=u,
                canonical_url=u,
                source=s,
                title=t,
                text=x,
                lang="ko",
                published_at=now,
                fetched_at=now,
                fingerprint=fingerprint(x),
            ),
        )
        for entry, (s, u, t, x) in zip(entries, items, strict=True)
    ]
    save_outcomes(db, outcomes, ids, run, 3, now)
    cluster_pending(db, classifier.entities, now)
    classify_pending(db, classifier, now)


def rules_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def run_alerts(
    db: Database, rules_path: Path, env: dict[str, str], now: datetime
) -> DispatchReport:
    rules = load_rules(rules_path)
    report = DispatchReport()
    queue_alerts(db, rules, now, report)
    send_due(db, rules, env, now, report)
    return report


PRICING_RULE = """rules:
  - name: china-price-war
    topics: [pricing]
    channels: ["${HOOK_URL}"]
"""


def test_one_post_per_matching_event_across_two_runs(
    database: Database,
    classifier: Classifier,
    receiver: Receiver,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    title, body = seed_parts()
    store(database, classifier, [("naeil", "https://naeil.example/seed", title, body)], T0)
    rules = rules_file(tmp_path, PRICING_RULE)
    env = {"HOOK_URL": receiver.url}

    first = run_alerts(database, rules, env, T0)
    second = run_alerts(database, rules, env, T0 + timedelta(minutes=30))

    assert (first.queued, first.sent, first.failed) == (1, 1, 0)
    assert (second.queued, second.follow_ups, second.sent) == (0, 0, 0)
    [post] = receiver.posts
    assert post["title"] == title  # the Korean headline, as published
    assert "pricing" in post["message"] and "Read: https://naeil.example/seed" in post["message"]
    assert "investment" in post["message"] and "model_launch" in post["message"]
    (tmp_path / "sample-message.json").write_text(
        json.dumps(post, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    # The secret in the channel URL is never stored, logged or listed.
    with database.connect() as conn:
        stored = [dict(r._mapping) for r in conn.execute(select(AlertRow))]
    assert SECRET not in json.dumps(stored, default=str)
    assert SECRET not in caplog.text
    assert SECRET not in json.dumps(list_alerts(database), default=str)


def test_a_receiver_failing_twice_still_gets_exactly_one_delivery(
    database: Database, classifier: Classifier, tmp_path: Path
) -> None:
    hook = Receiver(fail_first=5)  # more than one run's tries: the next run delivers
    try:
        title, body = seed_parts()
        store(database, classifier, [("naeil", "https://naeil.example/seed", title, body)], T0)
        rules = rules_file(tmp_path, PRICING_RULE)
        env = {"HOOK_URL": hook.url}
        from pipeline.alerts import deliver

        first = run_alerts(database, rules, env, T0)
        assert (first.sent, first.failed) == (0, 1)
        [failed] = list_alerts(database, failed=True)
        assert failed["status"] == "failed" and SECRET not in (failed["last_error"] or "")
        hook.fail_first = 2  # two more refusals, then success within the next run's tries
        deliver_sleep = deliver.time.sleep
        deliver.time.sleep = lambda seconds: None  # type: ignore[assignment]
        try:
            second = run_alerts(database, rules, env, T0 + timedelta(minutes=30))
        finally:
            deliver.time.sleep = deliver_sleep  # type: ignore[assignment]
        assert (second.sent, second.failed) == (1, 0)
        assert len(hook.posts) == 1
        assert list_alerts(database, failed=True) == []
        third = run_alerts(database, rules, env, T0 + timedelta(hours=1))
        assert third.sent == 0 and len(hook.posts) == 1
    finally:
        hook.close()


def test_a_material_change_sends_exactly_one_follow_up(
    database: Database, classifier: Classifier, receiver: Receiver, tmp_path: Path
) -> None:
    title, body = seed_parts()
    store(database, classifier, [("naeil", "https://naeil.example/seed", title, body)], T0)
    rules = rules_file(
        tmp_path,
        "rules:\n  - name: price-war\n    topics: [pricing]\n    follow_up_sources: 2\n"
        '    channels: ["${HOOK_URL}"]\n',
    )
    env = {"HOOK_URL": receiver.url}
    run_alerts(database, rules, env, T0)
    # Two more outlets run the story: the event now has three sources.
    later = T0 + timedelta(hours=2)
    store(
        database,
        classifier,
        [
            ("yonhap", "https://yonhap.example/a", title, "(서울=연합뉴스) " + body),
            ("hankyung", "https://hankyung.example/b", title, "[한경] " + body),
        ],
        later,
    )
    follow = run_alerts(database, rules, env, later)
    again = run_alerts(database, rules, env, later + timedelta(minutes=30))

    assert (follow.follow_ups, follow.sent) == (1, 1)
    assert (again.follow_ups, again.sent) == (0, 0)
    _, update = receiver.posts
    assert update["title"].startswith("Update: ")
    assert "more sources" in update["message"]


def test_an_event_no_rule_matches_sends_nothing(
    database: Database, classifier: Classifier, receiver: Receiver, tmp_path: Path
) -> None:
    title, body = seed_parts()
    store(database, classifier, [("naeil", "https://naeil.example/seed", title, body)], T0)
    rules = rules_file(
        tmp_path,
        "rules:\n  - name: only-english\n    topics: [pricing]\n    languages: [en]\n"
        '    channels: ["${HOOK_URL}"]\n  - name: huge\n    min_amount_usd: 10000000000000\n'
        '    channels: ["${HOOK_URL}"]\n',
    )
    report = run_alerts(database, rules, {"HOOK_URL": receiver.url}, T0)
    assert (report.queued, report.sent) == (0, 0)
    assert receiver.posts == []


def test_a_country_rule_sends_for_events_naming_a_company_of_that_country(
    database: Database, classifier: Classifier, receiver: Receiver, tmp_path: Path
) -> None:
    """The seed story names Chinese firms (Baidu, Alibaba...): a CN rule sends, a JP one not."""
    title, body = seed_parts()
    store(database, classifier, [("naeil", "https://naeil.example/seed", title, body)], T0)
    rules = rules_file(
        tmp_path,
        "rules:\n  - name: china\n    topics: [pricing]\n    countries: [CN]\n"
        '    channels: ["${HOOK_URL}"]\n  - name: japan\n    countries: [JP]\n'
        '    channels: ["${HOOK_URL}"]\n',
    )
    report = run_alerts(database, rules, {"HOOK_URL": receiver.url}, T0)
    assert (report.queued, report.sent) == (1, 1)
    with database.connect() as conn:
        assert [row.rule for row in conn.execute(select(AlertRow.rule))] == ["china"]


def test_a_missing_variable_fails_the_alert_and_names_the_variable_only(
    database: Database, classifier: Classifier, tmp_path: Path
) -> None:
    title, body = seed_parts()
    store(database, classifier, [("naeil", "https://naeil.example/seed", title, body)], T0)
    report = run_alerts(database, rules_file(tmp_path, PRICING_RULE), {}, T0)
    assert (report.sent, report.failed) == (0, 1)
    assert "${HOOK_URL}" in report.errors[0] and "not set" in report.errors[0]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("rules:\n  - name: a\n    topics: [prices]\n    channels: [json://h/x]\n", 3, "prices"),
        ("rules:\n  - name: a\n    channels: [slack-webhook]\n", 3, "Apprise URL"),
        ("rules:\n  - name: a\n    chanels: [json://h/x]\n", 3, "did you mean"),
        ("rules:\n  - name: a\n    channels: []\n", 3, "channels"),
        (
            "rules:\n  - name: a\n    countries: [China]\n    channels: [json://h/x]\n",
            3,
            "countries",
        ),
        (
            "rules:\n  - name: a\n    channels: [json://h/x]\n  - name: a\n"
            "    channels: [json://h/y]\n",
            4,
            "duplicate",
        ),
    ],
)
def test_bad_rules_name_file_and_line(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_rules(text, "alerts.yaml")
    assert (caught.value.path, caught.value.line) == ("alerts.yaml", line)
    assert words in str(caught.value)


def test_secrets_are_redacted_from_urls() -> None:
    shown = redact(f"failed to post to json://user:pw@hooks.example:9000/hook/{SECRET}?x=1")
    assert SECRET not in shown and "pw" not in shown and "hooks.example:9000" in shown


def test_the_shipped_rules_file_loads() -> None:
    rules = load_rules(SEEDS_DIR / "alerts.yaml")
    assert {r.name for r in rules} >= {"china-price-war"}


@pytest.mark.usefixtures("prefect_api")
def test_collect_then_alerts_twice_posts_once_per_event(
    site: Any,
    tmp_path: Path,
    sqlite_url: str,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.collect import collect
    from pipeline.store.outbox import all_events
    from tests.newsroom_fixture import serve_newsroom

    sources = serve_newsroom(site, tmp_path)
    rules = rules_file(tmp_path, 'rules:\n  - name: everything\n    channels: ["${HOOK_URL}"]\n')
    monkeypatch.setenv("NEWSWATCH_ALERTS", str(rules))
    monkeypatch.setenv("HOOK_URL", receiver.url)

    collect(sources=str(sources), db=sqlite_url, show_progress=False)
    collect(sources=str(sources), db=sqlite_url, show_progress=False)

    database = open_database(sqlite_url, check=False)
    try:
        events = all_events(database)
        alerts = list_alerts(database)
    finally:
        database.dispose()
    assert events, "the newsroom has tracked events"
    assert len(receiver.posts) == len(events)
    assert sorted(a["event_id"] for a in alerts) == sorted(e["id"] for e in events)
    assert {a["status"] for a in alerts} == {"sent"}
    database = open_database(sqlite_url, check=False)
    try:
        with database.connect() as conn:
            summaries = conn.execute(select(RunRow.kind, RunRow.summary)).all()
    finally:
        database.dispose()
    assert [k for k, _ in summaries].count("alerts") == 2
    assert SECRET not in json.dumps([s for _, s in summaries], default=str)


def test_alerts_commands(
    database: Database, classifier: Classifier, receiver: Receiver, tmp_path: Path, db_url: str
) -> None:
    from tests.test_cli import newswatch

    title, body = seed_parts()
    store(database, classifier, [("naeil", "https://naeil.example/seed", title, body)], T0)
    rules = rules_file(tmp_path, PRICING_RULE)
    env = {"HOOK_URL": receiver.url}
    common = ["--rules", str(rules), "--db", db_url]

    dry = newswatch("alerts", "send", "--dry-run", *common, env=env)
    assert dry.returncode == 0, dry.stderr
    assert "china-price-war: event" in dry.stdout and receiver.posts == []
    sent = newswatch("alerts", "send", *common, env=env)
    assert sent.returncode == 0, sent.stderr
    assert "1 new" in sent.stdout and "1 sent" in sent.stdout and len(receiver.posts) == 1
    listed = newswatch("alerts", "list", "--db", db_url, "--json")
    [row] = json.loads(listed.stdout)
    assert row["status"] == "sent" and SECRET not in listed.stdout
    assert newswatch("alerts", "list", "--failed", "--db", db_url).stdout.strip() == (
        "no alerts failed"
    )
    test = newswatch("alerts", "test", "china-price-war", "--rules", str(rules), env=env)
    assert test.returncode == 0 and "sent" in test.stdout and SECRET not in test.stdout
    assert len(receiver.posts) == 2 and receiver.posts[1]["title"].startswith("newswatch test")
    unset = newswatch("alerts", "send", *common)
    assert unset.returncode == 0 and "rule skipped" in unset.stdout
    assert "HOOK_URL" in unset.stdout
    unknown = newswatch("alerts", "test", "nope", "--rules", str(rules), env=env)
    assert unknown.returncode == 2


ERNIE = (
    "Baidu launches ERNIE X1 at half the price of DeepSeek-R1",
    "Baidu on Sunday released its ERNIE X1 reasoning model and said it costs half as much as "
    "DeepSeek-R1. The AI model is free for individual users, and API prices start at 2 yuan "
    "per million tokens, a cut that deepens the AI price war in China.",
)


def test_a_digest_rule_sends_one_message_per_period(
    database: Database, classifier: Classifier, receiver: Receiver, tmp_path: Path
) -> None:
    title, body = seed_parts()
    store(
        database,
        classifier,
        [
            ("naeil", "https://naeil.example/seed", title, body),
            ("wire", "https://wire.example/ernie", *ERNIE),
        ],
        T0,  # 06:00 UTC = 15:00 in Seoul
    )
    rules = rules_file(
        tmp_path,
        "rules:\n  - name: morning\n    topics: [pricing]\n"
        "    digest: {at: '08:00', timezone: Asia/Seoul}\n"
        '    channels: ["${HOOK_URL}"]\n',
    )
    env = {"HOOK_URL": receiver.url}
    queued = run_alerts(database, rules, env, T0)
    assert queued.queued == 2 and receiver.posts == []  # held until 08:00 in Seoul
    evening = run_alerts(database, rules, env, T0 + timedelta(hours=6))
    assert evening.sent == 0 and receiver.posts == []
    morning = run_alerts(database, rules, env, T0 + timedelta(hours=17, minutes=5))
    assert (morning.sent, morning.messages) == (2, 1)
    [digest] = receiver.posts
    assert digest["title"] == "newswatch digest (morning): 2 events"
    assert title in digest["message"] and ERNIE[0] in digest["message"]
    later = run_alerts(database, rules, env, T0 + timedelta(days=2))
    assert later.sent == 0 and len(receiver.posts) == 1


def test_a_failing_source_is_announced_once_per_outage(
    database: Database, receiver: Receiver, tmp_path: Path
) -> None:
    from pipeline.records import Failure, PollResult, PollStatus, Stage
    from pipeline.store.sources import record_polls

    feed = Source("flaky", "https://flaky.example/rss")
    sync_sources(database, [feed], T0)
    rules = rules_file(
        tmp_path,
        "rules:\n  - name: feeds\n    source_health: {failures: 3, silent_hours: 1000}\n"
        '    channels: ["${HOOK_URL}"]\n',
    )
    env = {"HOOK_URL": receiver.url}

    def poll(ok: bool, at: datetime) -> None:
        failure = Failure(Stage.POLL, "flaky", feed.url, "http_5xx", "HTTP 503", 503)
        result = (
            PollResult("flaky", PollStatus.OK, http_status=200)
            if ok
            else PollResult("flaky", PollStatus.FAILED, failure=failure, http_status=503)
        )
        record_polls(database, [result], at)

    poll(True, T0)
    for hour in range(1, 6):  # five failures in a row, alerts after each poll
        poll(False, T0 + timedelta(hours=hour))
        run_alerts(database, rules, env, T0 + timedelta(hours=hour))
    assert len(receiver.posts) == 1
    [first] = receiver.posts
    assert first["title"] == "Source flaky is failing"
    assert "HTTP 503" in first["message"] and "3 polls in a row" in first["message"]

    poll(True, T0 + timedelta(hours=6))  # recovered
    run_alerts(database, rules, env, T0 + timedelta(hours=6))
    for hour in range(7, 10):  # a new outage
        poll(False, T0 + timedelta(hours=hour))
        run_alerts(database, rules, env, T0 + timedelta(hours=hour))
    assert len(receiver.posts) == 2


def test_a_silent_source_is_announced(
    database: Database, receiver: Receiver, tmp_path: Path
) -> None:
    sync_sources(database, [Source("quiet", "https://quiet.example/rss")], T0)
    rules = rules_file(
        tmp_path,
        "rules:\n  - name: feeds\n    source_health: {silent_hours: 24}\n"
        '    channels: ["${HOOK_URL}"]\n',
    )
    env = {"HOOK_URL": receiver.url}
    run_alerts(database, rules, env, T0 + timedelta(hours=23))
    assert receiver.posts == []
    run_alerts(database, rules, env, T0 + timedelta(hours=25))
    run_alerts(database, rules, env, T0 + timedelta(hours=30))
    [post] = receiver.posts
    assert (
        post["title"] == "Source quiet is silent" and "No new entry for 25 hours" in post["message"]
    )


@pytest.mark.usefixtures("prefect_api")
def test_the_alerts_flow_reads_a_prefect_secret_block_and_keeps_it_out_of_the_run(
    database: Database,
    classifier: Classifier,
    receiver: Receiver,
    tmp_path: Path,
    db_url: str,
) -> None:
    from prefect.blocks.system import Secret

    from flows.alerts import alerts

    Secret(value=receiver.url).save("newswatch-test-hook", overwrite=True)
    title, body = seed_parts()
    store(database, classifier, [("naeil", "https://naeil.example/seed", title, body)], T0)
    rules = rules_file(
        tmp_path, PRICING_RULE.replace("${HOOK_URL}", "${prefect:newswatch-test-hook}")
    )

    result = alerts(rules=str(rules), db=db_url)

    assert result["sent"] == 1 and len(receiver.posts) == 1
    with database.connect() as conn:
        runs = [dict(r._mapping) for r in conn.execute(select(RunRow.kind, RunRow.summary))]
    assert [r["kind"] for r in runs if r["kind"] == "alerts"] == ["alerts"]
    assert SECRET not in json.dumps(runs, default=str)
    assert SECRET not in json.dumps(result, default=str)
