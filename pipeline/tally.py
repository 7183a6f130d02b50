"""Per-source tallies of a collect run, from poll results and what storing the pages did."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

from pipeline.records import Failure, PollResult, PollStatus, RunSummary, SourceReport


class Tally:
    """Accumulates counts per source while a run proceeds."""

    def __init__(self, polls: Sequence[PollResult], fresh: Mapping[str, int]) -> None:
        self.polls = list(polls)
        self.fresh = dict(fresh)  # entries this run registered, per source
        self.new: Counter[str] = Counter()
        self.unchanged: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.failures: list[Failure] = [p.failure for p in polls if p.failure is not None]
        self._reasons: dict[str, Counter[str]] = defaultdict(Counter)

    def add(
        self, new: Mapping[str, int], unchanged: Mapping[str, int], failures: Sequence[Failure]
    ) -> None:
        """Add the counts of one stored batch."""
        self.new.update(new)
        self.unchanged.update(unchanged)
        for failure in failures:
            self.failed[failure.source] += 1
            self._reasons[failure.source][failure.reason] += 1
        self.failures.extend(failures)

    def reports(self) -> tuple[SourceReport, ...]:
        """One report per polled source (plus sources only seen through retried entries)."""
        reports = []
        names = [p.source for p in self.polls]
        extra = sorted((set(self.new) | set(self.failed) | set(self.unchanged)) - set(names))
        by_name = {p.source: p for p in self.polls}
        for name in names + extra:
            poll = by_name.get(name)
            reasons: list[str] = []
            if poll is not None and poll.failure is not None:
                reasons.append(f"{poll.failure.reason}: {poll.failure.detail}")
            reasons.extend(
                f"{count}× {reason}" for reason, count in self._reasons[name].most_common()
            )
            entries = len(poll.entries) if poll else 0
            known = entries - self.fresh.get(name, 0)
            reports.append(
                SourceReport(
                    source=name,
                    status=str(poll.status) if poll else "retry",
                    entries=entries,
                    new=self.new[name],
                    unchanged=known + self.unchanged[name],
                    failed=self.failed[name]
                    + (1 if poll and poll.status is PollStatus.FAILED else 0),
                    skipped=poll.skipped if poll else 0,
                    reasons=tuple(reasons),
                    warnings=poll.warnings if poll else (),
                )
            )
        return tuple(reports)

    def summary(
        self,
        run_id: int,
        started_at: datetime,
        finished_at: datetime,
        clustering: Mapping[str, int] | None = None,
        tracking: Mapping[str, int] | None = None,
    ) -> RunSummary:
        """The run summary."""
        done = clustering or {}
        labelled = tracking or {}
        return RunSummary(
            run_id,
            started_at,
            finished_at,
            self.reports(),
            tuple(self.failures),
            copies=done.get("copies", 0),
            stories_opened=done.get("new_stories", 0),
            stories_joined=done.get("joined", 0),
            classified=labelled.get("articles", 0),
            relevant=labelled.get("relevant", 0),
            events_new=labelled.get("events_new", 0),
            events_changed=labelled.get("events_changed", 0),
        )
