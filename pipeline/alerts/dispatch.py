"""Alerts from events to channels: queue what the rules announce, then send what is due.

Exactly once per (rule, event, revision, channel): the outbox row is created once (a unique
key, so concurrent runs cannot both create it) and marked sent right after the channel
accepted it. A crash between the two can repeat that one message on the next run: the only
window where a message may go out twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline.alerts.deliver import Delivery, send
from pipeline.alerts.health import outage
from pipeline.alerts.matching import changes, matches, snapshot
from pipeline.alerts.message import Message, compose, compose_digest
from pipeline.alerts.rules import AlertRule, resolve_channel, shown_channel
from pipeline.errors import ConfigError
from pipeline.store import outbox
from pipeline.store.database import Database

MAX_ATTEMPTS = 5  # delivery attempts across runs, each with its own retries


@dataclass(slots=True)
class DispatchReport:
    """What one alerts run did."""

    queued: int = 0
    follow_ups: int = 0
    sent: int = 0  # alerts delivered
    messages: int = 0  # messages posted (a digest carries several alerts)
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    skipped_rules: list[str] = field(default_factory=list)  # a channel variable is not set


def ready_rules(
    rules: Sequence[AlertRule], env: Mapping[str, str], report: DispatchReport
) -> list[AlertRule]:
    """The rules whose channels can all be resolved now; the others are reported, not queued
    (alerts queued for a channel that cannot be reached would only pile up as failures)."""
    ready = []
    for rule in rules:
        try:
            for channel in rule.channels:
                resolve_channel(channel, env)
        except ConfigError as exc:
            report.skipped_rules.append(f"{rule.name}: {exc}")
            continue
        ready.append(rule)
    return ready


def plan_alerts(
    db: Database, rule: AlertRule, events: Sequence[dict[str, Any]]
) -> list[tuple[dict[str, Any], int, list[str]]]:
    """(event, revision, what changed) for each alert ``rule`` has to add now."""
    announced = outbox.last_alerts(db, rule.name)
    chosen: list[tuple[dict[str, Any], int, list[str]]] = []
    for event in events:
        if not matches(rule, event):
            continue
        previous = announced.get(int(event["id"]))
        if previous is None:
            chosen.append((event, 1, []))
            continue
        changed = changes(rule, previous[1], event)
        if changed:
            chosen.append((event, previous[0] + 1, changed))
    return chosen


def queue_alerts(
    db: Database, rules: Sequence[AlertRule], now: datetime, report: DispatchReport
) -> None:
    """Add an alert for every matching event not announced yet, and a follow-up for every
    announced one that changed materially."""
    events = outbox.all_events(db)
    sources: list[dict[str, Any]] | None = None
    for rule in rules:
        if rule.health is not None:
            sources = sources if sources is not None else outbox.source_states(db)
            _queue_outages(db, rule, sources, now, report)
            continue
        chosen = plan_alerts(db, rule, events)
        links = outbox.event_links(db, [event for event, _, _ in chosen])
        rows = []
        for event, revision, changed in chosen:
            message = compose(rule.name, event, links[int(event["id"])], changed)
            rows += _rows(rule, int(event["id"]), revision, message, snapshot(event), now)
        added = outbox.enqueue(db, rows)
        report.queued += sum(1 for revision in added if revision == 1)
        report.follow_ups += sum(1 for revision in added if revision > 1)


def _rows(
    rule: AlertRule,
    subject: int,
    revision: int,
    message: Message,
    snap: dict[str, Any],
    now: datetime,
) -> list[dict[str, Any]]:
    """Outbox rows of one alert: one per channel of the rule, never holding a secret."""
    return [
        {
            "rule": rule.name,
            "event_id": subject,
            "revision": revision,
            "channel": index,
            "channel_shown": shown_channel(channel),
            "title": message.title,
            "body": message.body,
            "snapshot": snap,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
        }
        for index, channel in enumerate(rule.channels)
    ]


def _queue_outages(
    db: Database,
    rule: AlertRule,
    sources: Sequence[dict[str, Any]],
    now: datetime,
    report: DispatchReport,
) -> None:
    assert rule.health is not None
    failures, silent_hours = rule.health
    rows = []
    for source in sources:
        found = outage(source, failures, silent_hours, now)
        if found is None:
            continue
        revision, message, snap = found
        # A source-health rule's subject is a source: its id goes where an event's would.
        rows += _rows(rule, int(source["id"]), revision, message, snap, now)
    report.queued += len(outbox.enqueue(db, rows))


def send_due(
    db: Database,
    rules: Sequence[AlertRule],
    env: Mapping[str, str],
    now: datetime,
    report: DispatchReport,
    *,
    sender: Callable[..., Delivery] = send,
) -> None:
    """Send every alert due, each to its channel; a digest rule's alerts queued before its
    latest digest time go out together as one message per channel. Failures stay for the next
    run."""
    by_name = {rule.name: rule for rule in rules}
    batches: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for alert in outbox.due(db, MAX_ATTEMPTS, by_name):
        rule = by_name[alert["rule"]]
        if alert["channel"] >= len(rule.channels):
            continue  # the rule lost that channel since the alert was queued
        slot = rule.digest_slot(now)
        if slot is not None:
            if alert["created_at"] <= slot:
                batches.setdefault((rule.name, alert["channel"]), []).append(alert)
            continue  # a later alert waits for the next digest time
        _deliver(db, rule, alert["channel"], [alert], None, env, now, report, sender)
    for (name, channel), alerts in batches.items():
        _deliver(
            db, by_name[name], channel, alerts, alerts[0]["created_at"], env, now, report, sender
        )


def _deliver(
    db: Database,
    rule: AlertRule,
    channel: int,
    alerts: Sequence[dict[str, Any]],
    since: datetime | None,
    env: Mapping[str, str],
    now: datetime,
    report: DispatchReport,
    sender: Callable[..., Delivery],
) -> None:
    messages = [Message(a["title"], a["body"]) for a in alerts]
    message = messages[0] if since is None else compose_digest(rule.name, messages, since)
    try:
        url = resolve_channel(rule.channels[channel], env)
    except ConfigError as exc:
        delivery = Delivery(False, str(exc))
    else:
        delivery = sender(url, message)
    for alert in alerts:
        outbox.mark(db, alert["id"], sent=delivery.ok, error=delivery.error, now=now)
    if delivery.ok:
        report.sent += len(alerts)
        report.messages += 1
    else:
        report.failed += len(alerts)
        events = ", ".join(str(a["event_id"]) for a in alerts[:10])
        report.errors.append(f"{rule.name} event {events}: {delivery.error}")
