"""The alerts flow: queue an alert for every tracked event a rule announces, send what is due.

Run after each collect (and on its own). Its summary goes to the runs table (kind ``alerts``)
and to the artifact ``alerts-summary``; neither ever holds a channel URL.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.recording import recorded_run
from flows.secrets import ChannelSecrets
from pipeline.alerts.dispatch import DispatchReport, queue_alerts, ready_rules, send_due
from pipeline.alerts.rules import load_rules
from pipeline.records import RunSummary
from pipeline.settings import load_settings
from pipeline.store.database import open_database
from pipeline.store.runs import finish_run


@flow(name="alerts", persist_result=False, log_prints=False)
def alerts(rules: str | None = None, db: str | None = None) -> dict[str, Any]:
    """Queue and send alerts; return the counts."""
    logger = get_run_logger()
    settings = load_settings(db_url=db)
    path = rules or str(settings.alerts_path)
    loaded = load_rules(path)
    database = open_database(settings.db_url, upgrade=settings.auto_upgrade)
    started = datetime.now(UTC)
    report = DispatchReport()
    try:
        with recorded_run(database, "alerts", started, sources_path=path) as run_id:
            secrets = ChannelSecrets()
            chosen = ready_rules(loaded, secrets, report)
            queue_alerts(database, chosen, started, report)
            send_due(database, chosen, secrets, started, report)
            summary = RunSummary(run_id, started, datetime.now(UTC), ())
            finish_run(database, summary, extra={"alerts": asdict(report)})
    finally:
        database.dispose()
    for skipped in report.skipped_rules:
        logger.warning("rule skipped: %s", skipped)
    lines = [
        f"# alerts run {run_id}",
        "",
        f"{report.queued} new alerts and {report.follow_ups} follow-ups queued; "
        f"{report.sent} sent, {report.failed} failed.",
    ]
    lines += [f"- failed: {error}" for error in report.errors[:50]]
    lines += [f"- rule skipped: {skipped}" for skipped in report.skipped_rules]
    create_markdown_artifact(key="alerts-summary", markdown="\n".join(lines) + "\n")
    logger.info(
        "run %d: %d alerts queued, %d follow-ups, %d sent, %d failed",
        run_id,
        report.queued,
        report.follow_ups,
        report.sent,
        report.failed,
    )
    return {"run_id": run_id, **asdict(report)}
