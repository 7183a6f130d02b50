"""Run rows: one per collect run, with its totals and per-source summary."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from db.models import ArticleRow, EntryRow, EventRow, FailureRow, RunRow, SourceRow, StoryRow
from pipeline.records import RunSummary
from pipeline.store.database import Database, insert


def start_run(
    db: Database,
    now: datetime,
    *,
    kind: str = "collect",
    sources_path: str | None = None,
    flow_run_id: str | None = None,
) -> int:
    """Insert a run row in state ``running`` and return its id."""
    table = RunRow.__table__
    with db.begin() as conn:
        run_id = conn.execute(
            insert(db, table)
            .values(
                kind=kind,
                flow_run_id=flow_run_id,
                sources_path=sources_path,
                status="running",
                started_at=now,
                sources=0,
                entries=0,
                new_articles=0,
                unchanged=0,
                failed=0,
                skipped=0,
                summary={},
            )
            .returning(table.c.id)
        ).scalar_one()
    return int(run_id)


def summary_json(summary: RunSummary) -> dict[str, Any]:
    """A run summary as JSON-ready data (stored with the run, printed by ``--json``)."""
    return {
        "run_id": summary.run_id,
        "started_at": summary.started_at.isoformat(),
        "finished_at": summary.finished_at.isoformat(),
        "duration_s": round(summary.duration_s, 3),
        "sources": [asdict(report) for report in summary.sources],
        "clustering": {
            "copies": summary.copies,
            "stories_opened": summary.stories_opened,
            "stories_joined": summary.stories_joined,
        },
        "classification": {
            "articles": summary.classified,
            "relevant": summary.relevant,
            "events_new": summary.events_new,
            "events_changed": summary.events_changed,
        },
        "totals": {
            name: summary.total(name)
            for name in ("entries", "new", "unchanged", "failed", "skipped")
        },
        "failures": [
            {
                "stage": str(f.stage),
                "source": f.source,
                "url": f.url,
                "reason": f.reason,
                "detail": f.detail,
                "status": f.status,
            }
            for f in summary.failures
        ],
    }


def finish_run(
    db: Database,
    summary: RunSummary,
    status: str = "completed",
    extra: dict[str, Any] | None = None,
) -> None:
    """Close a run with its totals and summary (plus ``extra`` sections, e.g. a backfill's)."""
    data = {**summary_json(summary), **(extra or {})}
    data["failures"] = data["failures"][:200]  # the failures table has them all
    with db.begin() as conn:
        conn.execute(
            update(RunRow)
            .where(RunRow.id == summary.run_id)
            .values(
                status=status,
                finished_at=summary.finished_at,
                sources=len(summary.sources),
                entries=summary.total("entries"),
                new_articles=summary.total("new"),
                unchanged=summary.total("unchanged"),
                failed=summary.total("failed"),
                skipped=summary.total("skipped"),
                summary=data,
            )
        )


def fail_run(db: Database, run_id: int, now: datetime, error: str) -> None:
    """Mark a run that stopped on a systemic error."""
    with db.begin() as conn:
        conn.execute(
            update(RunRow)
            .where(RunRow.id == run_id)
            .values(status="failed", finished_at=now, summary={"error": error[:2000]})
        )


def counts(db: Database) -> dict[str, int]:
    """Row counts for ``newswatch info``."""
    with db.connect() as conn:
        return {
            name: int(conn.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in (
                ("sources", SourceRow),
                ("entries", EntryRow),
                ("articles", ArticleRow),
                ("stories", StoryRow),
                ("events", EventRow),
                ("runs", RunRow),
                ("failures", FailureRow),
            )
        }


def last_run(db: Database) -> dict[str, Any] | None:
    """The latest run as a dict, or None."""
    with db.connect() as conn:
        row = conn.execute(
            select(
                RunRow.id,
                RunRow.status,
                RunRow.started_at,
                RunRow.finished_at,
                RunRow.new_articles,
                RunRow.failed,
            )
            .order_by(RunRow.id.desc())
            .limit(1)
        ).first()
    return dict(row._mapping) if row else None


def recent_runs(db: Database, limit: int = 20, kind: str | None = None) -> list[dict[str, Any]]:
    """The latest runs, newest first, with their totals (``newswatch runs``)."""
    query = select(
        RunRow.id,
        RunRow.kind,
        RunRow.status,
        RunRow.started_at,
        RunRow.finished_at,
        RunRow.sources,
        RunRow.entries,
        RunRow.new_articles,
        RunRow.unchanged,
        RunRow.failed,
        RunRow.flow_run_id,
    )
    if kind:
        query = query.where(RunRow.kind == kind)
    with db.connect() as conn:
        rows = conn.execute(query.order_by(RunRow.id.desc()).limit(limit)).all()
    return [dict(row._mapping) for row in rows]


def run_detail(db: Database, run_id: int) -> dict[str, Any] | None:
    """One run with its stored summary and every failure it recorded."""
    with db.connect() as conn:
        row = conn.execute(select(RunRow.__table__).where(RunRow.id == run_id)).first()
        if row is None:
            return None
        failures = conn.execute(
            select(
                FailureRow.stage,
                FailureRow.source,
                FailureRow.url,
                FailureRow.reason,
                FailureRow.detail,
                FailureRow.status,
            )
            .where(FailureRow.run_id == run_id)
            .order_by(FailureRow.id)
        ).all()
    return {
        "id": row.id,
        "kind": row.kind,
        "status": row.status,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "flow_run_id": row.flow_run_id,
        "sources_path": row.sources_path,
        "totals": {
            "sources": row.sources,
            "entries": row.entries,
            "new": row.new_articles,
            "unchanged": row.unchanged,
            "failed": row.failed,
            "skipped": row.skipped,
        },
        "summary": row.summary,
        "failures": [dict(f._mapping) for f in failures],
    }
