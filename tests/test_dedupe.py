"""Copy decisions: exact and near copies point at the earliest published original."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.dedupe import NEAR_SIMILARITY, CopyDecision, Root, decide

T0 = datetime(2025, 3, 25, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def root(
    ident: int,
    *,
    hours: float = 0,
    fetched_hours: float | None = None,
    story: int | None = None,
    similarity: float = 0.9,
    exact: bool = False,
) -> Root:
    """A stored original published ``hours`` after T0 (fetched then, unless told)."""
    when = T0 + hours * HOUR
    fetched = T0 + (hours if fetched_hours is None else fetched_hours) * HOUR
    return Root(ident, when, fetched, story, similarity, exact)


# (id, article published, article fetched, roots, expected decision)
CASES = [
    ("no-roots", (10, 5, 5), [], None),
    ("below-threshold", (10, 5, 5), [root(1, similarity=NEAR_SIMILARITY - 0.01)], None),
    (
        "at-threshold",
        (10, 5, 5),
        [root(1, similarity=NEAR_SIMILARITY, story=7)],
        CopyDecision(1, "near", NEAR_SIMILARITY, (), 7),
    ),
    (
        "near",
        (10, 5, 5),
        [root(1, similarity=0.8, story=7), root(2, similarity=0.3, story=8)],
        CopyDecision(1, "near", 0.8, (), 7),
    ),
    (
        "exact-even-below-threshold",
        (10, 5, 5),
        [root(1, similarity=0.2, exact=True)],
        CopyDecision(1, "exact", 1.0, (), None),
    ),
    (
        "exact-beats-more-similar-near",
        (10, 5, 5),
        [root(1, similarity=0.95, hours=1), root(2, similarity=0.6, exact=True, hours=2)],
        CopyDecision(1, "exact", 1.0, (2,), None),
    ),
    (
        "new-article-earlier",
        (10, -2, 5),
        [root(1, similarity=0.7, story=7)],
        CopyDecision(None, "near", 0.7, (1,), 7),
    ),
    (
        "two-roots-earliest-wins",
        (10, 5, 5),
        [root(3, hours=2, story=9, similarity=0.95), root(4, hours=1, story=8, similarity=0.6)],
        CopyDecision(4, "near", 0.95, (3,), 8),
    ),
    (
        "two-roots-new-article-earliest",
        (10, 0, 5),
        [root(3, hours=2, similarity=0.7), root(4, hours=1, similarity=0.6)],
        CopyDecision(None, "near", 0.7, (3, 4), None),
    ),
    (
        "tie-on-published-fetched-decides",
        (10, 5, 5),
        [root(3, hours=1, fetched_hours=3), root(4, hours=1, fetched_hours=2)],
        CopyDecision(4, "near", 0.9, (3,), None),
    ),
    (
        "tie-on-published-and-fetched-id-decides",
        (10, 5, 5),
        [root(4, hours=1), root(3, hours=1)],
        CopyDecision(3, "near", 0.9, (4,), None),
    ),
    (
        "new-article-same-time-fetched-earlier",
        (10, 1, 0),
        [root(3, hours=1, fetched_hours=2)],
        CopyDecision(None, "near", 0.9, (3,), None),
    ),
    (
        "new-article-same-time-same-fetch-higher-id",
        (10, 1, 1),
        [root(3, hours=1)],
        CopyDecision(3, "near", 0.9, (), None),
    ),
    (
        "story-of-the-group-kept",
        (10, 5, 5),
        [root(3, hours=1), root(4, hours=2, story=8)],
        CopyDecision(3, "near", 0.9, (4,), 8),
    ),
    (
        "story-of-the-earliest-with-one",
        (10, 5, 5),
        [root(3, hours=3, story=9), root(4, hours=2, story=8), root(5, hours=1)],
        CopyDecision(5, "near", 0.9, (3, 4), 8),
    ),
    (
        "rejected-root-story-ignored",
        (10, 5, 5),
        [root(3, hours=1), root(4, hours=0, story=8, similarity=0.1)],
        CopyDecision(3, "near", 0.9, (), None),
    ),
]


@pytest.mark.parametrize(
    ("article", "roots", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_decide(
    article: tuple[int, float, float], roots: list[Root], expected: CopyDecision | None
) -> None:
    ident, hours, fetched_hours = article
    decision = decide(ident, T0 + hours * HOUR, T0 + fetched_hours * HOUR, roots)
    if expected is None or decision is None:
        assert decision == expected
        return
    assert decision.original == expected.original
    assert decision.method == expected.method
    assert decision.similarity == pytest.approx(expected.similarity)
    assert sorted(decision.demoted) == sorted(expected.demoted)
    assert decision.story_id == expected.story_id


def test_decision_does_not_depend_on_the_order_of_roots() -> None:
    roots = [root(3, hours=2, story=9), root(4, hours=1, story=8), root(5, hours=1, story=7)]
    first = decide(10, T0 + 5 * HOUR, T0 + 5 * HOUR, roots)
    second = decide(10, T0 + 5 * HOUR, T0 + 5 * HOUR, list(reversed(roots)))
    assert first is not None and second is not None
    assert (first.original, sorted(first.demoted), first.story_id) == (4, [3, 5], 8)
    assert (second.original, sorted(second.demoted), second.story_id) == (4, [3, 5], 8)
