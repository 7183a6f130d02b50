"""Copy decisions: is a new article a syndicated copy of one already stored, and which is first?

Exact copies share the fingerprint of their normalized text. Near copies (a new headline, a
wire prefix, a paragraph dropped or added, other boilerplate) have an estimated Jaccard
similarity of their shingle sets of at least ``NEAR_SIMILARITY``. A copy points at the original:
the earliest published of the copies (ties: the earliest fetched, then the lowest id). When a
new article is earlier than the original it matched, it becomes the original and the old one,
with its copies, points at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

NEAR_SIMILARITY = 0.5


@dataclass(frozen=True, slots=True)
class Root:
    """An original already stored that the new article resembles."""

    id: int
    when: datetime
    fetched: datetime
    story_id: int | None
    similarity: float  # best similarity between the new article and this root's group
    exact: bool  # the new article's text equals one of the group's


@dataclass(frozen=True, slots=True)
class CopyDecision:
    """What to record for the new article, and which old originals stop being originals."""

    original: int | None  # None: the new article is the original of the group
    method: str  # exact | near
    similarity: float
    demoted: tuple[int, ...]  # old originals that become copies of the group's original
    story_id: int | None  # the story of the group (None if the group had none)


def _order(when: datetime, fetched: datetime, ident: int) -> tuple[datetime, datetime, int]:
    return (when, fetched, ident)


def decide(
    article_id: int, when: datetime, fetched: datetime, roots: list[Root]
) -> CopyDecision | None:
    """The copy decision for a new article, or None when it copies nothing stored."""
    accepted = [r for r in roots if r.exact or r.similarity >= NEAR_SIMILARITY]
    if not accepted:
        return None
    best = max(accepted, key=lambda r: (r.exact, r.similarity))
    earliest = min(accepted, key=lambda r: _order(r.when, r.fetched, r.id))
    story = next(
        (
            r.story_id
            for r in sorted(accepted, key=lambda r: _order(r.when, r.fetched, r.id))
            if r.story_id is not None
        ),
        None,
    )
    method = "exact" if best.exact else "near"
    similarity = 1.0 if best.exact else best.similarity
    if _order(when, fetched, article_id) < _order(earliest.when, earliest.fetched, earliest.id):
        return CopyDecision(None, method, similarity, tuple(r.id for r in accepted), story)
    others = tuple(r.id for r in accepted if r.id != earliest.id)
    return CopyDecision(earliest.id, method, similarity, others, story)
