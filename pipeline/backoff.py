"""How long a failing source rests before it is polled again.

One failure is often a blip, so the next run polls again. From the second failure in a row the
source rests: ``base`` seconds after its last poll, doubled for each further failure, at most
``cap`` (15 min, 30 min, 1 h, ... 6 h with the defaults). A success ends it; so does a new URL
in the sources file (a new feed). Rest ends at a time computed from stored state, so it holds
across runs and processes without anything more stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta

#: Failures in a row before a source rests.
REST_AFTER = 2


def rest_until(
    failures: int, last_polled_at: datetime | None, base: float, cap: float
) -> datetime | None:
    """When a source with ``failures`` in a row, last polled at ``last_polled_at``, may be
    polled again; ``None`` when it need not rest."""
    if failures < REST_AFTER or last_polled_at is None or base <= 0:
        return None
    seconds = min(base * 2 ** min(failures - REST_AFTER, 30), max(cap, base))
    return last_polled_at + timedelta(seconds=seconds)
