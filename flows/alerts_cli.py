"""``newswatch alerts``: queue and send alerts, list them, send a sample (no Prefect import)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flows.cli import EXIT_OK, EXIT_USAGE, opened
from flows.present import print_json
from flows.secrets import ChannelSecrets
from pipeline.settings import load_settings


def rules_path(value: str | None) -> Path:
    """The rules file: ``--rules``, else ``$NEWSWATCH_ALERTS``, else ``seeds/alerts.yaml``."""
    return Path(value) if value else load_settings().alerts_path


def cmd_alerts(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch alerts send | list | test."""
    if args.alerts_command == "list":
        return _list(args, out)
    from pipeline.alerts.rules import load_rules

    rules = load_rules(rules_path(args.rules))
    if args.alerts_command == "test":
        return _test(args, rules, out, err)
    return _send(args, rules, out)


def _send(args: argparse.Namespace, rules: tuple[object, ...], out: Console) -> int:
    from pipeline.alerts.dispatch import (
        DispatchReport,
        plan_alerts,
        queue_alerts,
        ready_rules,
        send_due,
    )
    from pipeline.alerts.rules import AlertRule
    from pipeline.store.outbox import all_events

    report = DispatchReport()
    secrets = ChannelSecrets()
    chosen = ready_rules([r for r in rules if isinstance(r, AlertRule)], secrets, report)
    for skipped in report.skipped_rules:
        out.print(f"[yellow]rule skipped[/yellow] {escape(skipped)}", highlight=False)
    now = datetime.now(UTC)
    with opened(args.db) as database:
        if args.dry_run:
            events = all_events(database)
            for rule in chosen:
                for event, revision, changed in plan_alerts(database, rule, events):
                    kind = f"follow-up {revision}: {'; '.join(changed)}" if changed else "new"
                    out.print(
                        f"{rule.name}: event {event['id']} ({kind}) {escape(str(event['title']))}",
                        highlight=False,
                    )
            return EXIT_OK
        queue_alerts(database, chosen, now, report)
        send_due(database, chosen, secrets, now, report)
    out.print(
        f"alerts: {report.queued} new, {report.follow_ups} follow-ups queued; "
        f"{report.sent} sent, {report.failed} failed",
        highlight=False,
    )
    for error in report.errors[:20]:
        out.print(f"  [red]failed[/red] {escape(error)}", highlight=False)
    return EXIT_OK


def _test(args: argparse.Namespace, rules: tuple[object, ...], out: Console, err: Console) -> int:
    from pipeline.alerts.deliver import send
    from pipeline.alerts.message import Message
    from pipeline.alerts.rules import AlertRule, resolve_channel, shown_channel

    rule = next((r for r in rules if isinstance(r, AlertRule) and r.name == args.rule), None)
    if rule is None:
        err.print(f"[red]error:[/red] no rule named {escape(args.rule)!r}")
        return EXIT_USAGE
    sample = Message(
        f"newswatch test alert for rule {rule.name}",
        "A sample message: the channel works. Real alerts carry the event's headline, topics "
        "with evidence, entities, amounts, sources and links.",
    )
    failed = 0
    for channel in rule.channels:
        delivery = send(resolve_channel(channel, ChannelSecrets()), sample, tries=1)
        shown = shown_channel(channel)
        status = "sent" if delivery.ok else f"failed: {delivery.error}"
        out.print(f"{escape(shown)}: {escape(status)}", highlight=False)
        failed += not delivery.ok
    return EXIT_OK if not failed else 1


def _list(args: argparse.Namespace, out: Console) -> int:
    from pipeline.store.outbox import list_alerts

    with opened(args.db) as database:
        alerts = list_alerts(database, failed=args.failed, limit=args.limit)
    if args.json:
        print_json(alerts, out)
        return EXIT_OK
    if not alerts:
        out.print("no alerts" + (" failed" if args.failed else " yet"))
        return EXIT_OK
    table = Table(title="alerts", title_justify="left")
    for column in ("id", "rule", "event", "rev", "channel", "status", "tries", "title"):
        table.add_column(column, overflow="fold")
    for a in alerts:
        status = a["status"] + (f" ({a['last_error'][:60]})" if a["last_error"] else "")
        table.add_row(
            str(a["id"]),
            escape(a["rule"]),
            str(a["event_id"]),
            str(a["revision"]),
            escape(a["channel_shown"]),
            escape(status),
            str(a["attempts"]),
            escape(a["title"][:80]),
        )
    out.print(table)
    return EXIT_OK
