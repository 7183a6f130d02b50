"""SQL of copy detection and story clustering: sketches, LSH bands, copies, stories.

Every function takes a connection inside the caller's exclusive transaction
(``Database.begin_exclusive``): one clustering step at a time, across processes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, update

__all__ = ["Connection"]

from db.models import ArticleRow, BandRow, SketchRow, SourceRow, StoryKeyRow, StoryRow
from pipeline import minhash
from pipeline.dedupe import Root
from pipeline.features import Features, title_grams
from pipeline.store.database import Database, insert
from pipeline.stories import WINDOW, StoryView

MAX_NEAR_CANDIDATES = 200
MAX_STORY_CANDIDATES = 25  # the stories sharing the most keys within the window
_WHEN = func.coalesce(ArticleRow.published_at, ArticleRow.fetched_at)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Pending:
    """A stored article not clustered yet."""

    id: int
    source: str
    lang: str | None
    when: datetime
    fetched: datetime
    title: str
    text: str
    fingerprint: str


def pending(conn: Connection, limit: int) -> list[Pending]:
    """Unclustered articles, oldest first (published, then fetched, then id)."""
    rows = conn.execute(
        select(
            ArticleRow.id,
            SourceRow.name,
            ArticleRow.lang,
            _WHEN.label("when"),
            ArticleRow.fetched_at,
            ArticleRow.title,
            ArticleRow.text,
            ArticleRow.fingerprint,
        )
        .join(SourceRow, SourceRow.id == ArticleRow.source_id)
        .where(ArticleRow.clustered_at.is_(None))
        .order_by(_WHEN, ArticleRow.fetched_at, ArticleRow.id)
        .limit(limit)
    )
    return [Pending(*row) for row in rows]


def copy_roots(conn: Connection, article: Features) -> list[Root]:
    """Originals of the stored articles that share the fingerprint or an LSH band."""
    exact = set(
        conn.execute(
            select(ArticleRow.id).where(
                ArticleRow.fingerprint == article.fingerprint,
                ArticleRow.id != article.id,
                ArticleRow.clustered_at.is_not(None),
            )
        ).scalars()
    )
    near = set(
        conn.execute(
            select(BandRow.article_id)
            .where(BandRow.key.in_(article.bands), BandRow.article_id != article.id)
            .distinct()
            .limit(MAX_NEAR_CANDIDATES)
        ).scalars()
    )
    if not exact and not near:
        return []
    similarity = {
        ident: minhash.similarity(article.sketch, minhash.from_bytes(data))
        for ident, data in conn.execute(
            select(SketchRow.article_id, SketchRow.minhash).where(SketchRow.article_id.in_(near))
        )
    }
    members = conn.execute(
        select(ArticleRow.id, ArticleRow.duplicate_of).where(ArticleRow.id.in_(exact | near))
    )
    best: dict[int, float] = defaultdict(float)
    copied: set[int] = set()
    for ident, original in members:
        root = original or ident
        best[root] = max(best[root], 1.0 if ident in exact else similarity.get(ident, 0.0))
        if ident in exact:
            copied.add(root)
    roots = conn.execute(
        select(ArticleRow.id, _WHEN, ArticleRow.fetched_at, ArticleRow.story_id).where(
            ArticleRow.id.in_(list(best))
        )
    )
    return [
        Root(ident, when, fetched, story, best[ident], ident in copied)
        for ident, when, fetched, story in roots
    ]


def save_sketch(conn: Connection, db: Database, article: Features) -> None:
    """Keep the article's sketch and band keys for later near-duplicate lookups."""
    conn.execute(
        insert(db, SketchRow.__table__).on_conflict_do_nothing(),
        {"article_id": article.id, "minhash": minhash.to_bytes(article.sketch)},
    )
    conn.execute(
        insert(db, BandRow.__table__).on_conflict_do_nothing(),
        [{"key": key, "article_id": article.id} for key in set(article.bands)],
    )


def set_copy(
    conn: Connection, article_id: int, original: int, method: str, similarity: float
) -> None:
    """Record that ``article_id`` copies ``original``."""
    conn.execute(
        update(ArticleRow)
        .where(ArticleRow.id == article_id)
        .values(duplicate_of=original, copy_method=method, copy_similarity=round(similarity, 4))
    )


def demote(conn: Connection, old_root: int, new_root: int, method: str, similarity: float) -> None:
    """An old original, and its copies, now copy ``new_root`` (published earlier)."""
    conn.execute(
        update(ArticleRow).where(ArticleRow.duplicate_of == old_root).values(duplicate_of=new_root)
    )
    set_copy(conn, old_root, new_root, method, similarity)


def day_of(when: datetime) -> int:
    """Days since 1970-01-01 UTC: the time bucket of story keys."""
    return (when - _EPOCH).days


def _keys(article: Features) -> list[tuple[str, str]]:
    keys = [("ent", name) for name in article.entities]
    keys += [("head", name) for name in article.headline_entities]
    keys += [("key", key) for key in article.keys]
    keys += [("event", event) for event in article.events]
    keys += [("title", name) for name in article.title_entities]
    if article.actor:
        keys.append(("actor", article.actor))
    return [(kind, value[:200]) for kind, value in keys]


def candidate_stories(conn: Connection, article: Features) -> list[StoryView]:
    """Stories within the time window that share an entity or a key with the article."""
    days = StoryKeyRow.day.between(day_of(article.when - WINDOW), day_of(article.when + WINDOW))
    # One indexed range per key kind: SQLite plans a row-value IN ((kind, value), ...) as a
    # scan of the whole table, which made the cost per article grow with the database.
    terms = [
        and_(StoryKeyRow.kind == kind, StoryKeyRow.value.in_(values), days)
        for kind, values in (("ent", sorted(article.entities)), ("key", sorted(article.keys)))
        if values
    ]
    if not terms:
        return []
    ids = list(
        conn.execute(
            select(StoryKeyRow.story_id)
            .join(StoryRow, StoryRow.id == StoryKeyRow.story_id)
            .where(
                or_(*terms),
                StoryRow.last_seen >= article.when - WINDOW,
                StoryRow.first_seen <= article.when + WINDOW,
            )
            .group_by(StoryKeyRow.story_id)
            .order_by(func.count().desc(), StoryKeyRow.story_id)
            .limit(MAX_STORY_CANDIDATES)
        ).scalars()
    )
    return story_views(conn, ids, article.lang)


def story_views(conn: Connection, ids: Sequence[int], lang: str | None) -> list[StoryView]:
    """Stories with their keys, and the headlines of their members in language ``lang``
    (headlines are compared only within a language)."""
    if not ids:
        return []
    keys: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for story, kind, value in conn.execute(
        select(StoryKeyRow.story_id, StoryKeyRow.kind, StoryKeyRow.value).where(
            StoryKeyRow.story_id.in_(ids)
        )
    ):
        keys[story][kind].add(value)
    titles: dict[int, list[tuple[str | None, frozenset[str]]]] = defaultdict(list)
    # Copies are skipped here rather than in SQL: "duplicate_of IS NULL" made SQLite walk
    # that index (nearly every article) instead of the story_id one.
    for member_story, member_lang, title, original in conn.execute(
        select(
            ArticleRow.story_id, ArticleRow.lang, ArticleRow.title, ArticleRow.duplicate_of
        ).where(ArticleRow.story_id.in_(ids), ArticleRow.lang == lang)
    ):
        if original is None:
            titles[member_story or 0].append((member_lang, title_grams(title)))
    views = []
    for ident, first, last in conn.execute(
        select(StoryRow.id, StoryRow.first_seen, StoryRow.last_seen)
        .where(StoryRow.id.in_(ids))
        .order_by(StoryRow.id)
    ):
        k = keys[ident]
        views.append(
            StoryView(
                ident,
                first,
                last,
                frozenset(k["head"]),
                frozenset(k["ent"]),
                frozenset(k["key"]),
                frozenset(k["event"]),
                frozenset(k["actor"]),
                frozenset(k["title"]),
                tuple(titles[ident]),
            )
        )
    return views


def stories_of_group(conn: Connection, original: int) -> list[int]:
    """Stories of an original and its copies, all but the original's own."""
    own = conn.execute(select(ArticleRow.story_id).where(ArticleRow.id == original)).scalar()
    found = conn.execute(
        select(ArticleRow.story_id)
        .where(
            or_(ArticleRow.id == original, ArticleRow.duplicate_of == original),
            ArticleRow.story_id.is_not(None),
        )
        .distinct()
    ).scalars()
    return sorted(s for s in found if s is not None and s != own)


def open_story(conn: Connection, db: Database, article: Features, now: datetime) -> int:
    """A new story opened by ``article`` (its id is the article's id)."""
    conn.execute(
        insert(db, StoryRow.__table__).values(
            id=article.id,
            title=article.title[:1000],
            lang=article.lang,
            first_seen=article.when,
            last_seen=article.when,
            articles=0,
            sources=0,
            langs=[],
            updated_at=now,
        )
    )
    return article.id


def join_story(
    conn: Connection,
    db: Database,
    story_id: int,
    article: Features,
    *,
    score: float | None,
    evidence: dict[str, Any],
    now: datetime,
    add_keys: bool = True,
) -> None:
    """Put the article in the story and bring the story's summary up to date."""
    conn.execute(
        update(ArticleRow)
        .where(ArticleRow.id == article.id)
        .values(story_id=story_id, story_score=score, story_evidence=evidence, clustered_at=now)
    )
    keys = [
        {"story_id": story_id, "kind": kind, "value": value, "day": day_of(article.when)}
        for kind, value in set(_keys(article))
    ]
    # An article without names or numbers has no keys; an empty list would insert one
    # row of defaults.
    if add_keys and keys:
        conn.execute(insert(db, StoryKeyRow.__table__).on_conflict_do_nothing(), keys)
    refresh_story(conn, story_id, now)


def refresh_story(conn: Connection, story_id: int, now: datetime) -> None:
    """Recount a story's articles, sources and languages, and its time span."""
    row = conn.execute(
        select(
            func.count(),
            func.count(func.distinct(ArticleRow.source_id)),
            func.min(_WHEN),
            func.max(_WHEN),
        ).where(ArticleRow.story_id == story_id)
    ).one()
    found = conn.execute(
        select(ArticleRow.lang).where(ArticleRow.story_id == story_id).distinct()
    ).scalars()
    langs = sorted(lang for lang in found if lang)
    if row[0] == 0:
        conn.execute(delete(StoryRow).where(StoryRow.id == story_id))
        return
    conn.execute(
        update(StoryRow)
        .where(StoryRow.id == story_id)
        .values(
            articles=row[0],
            sources=row[1],
            first_seen=row[2],
            last_seen=row[3],
            langs=langs,
            updated_at=now,
        )
    )


def merge_stories(conn: Connection, db: Database, keep: int, drop: int, now: datetime) -> None:
    """Move every article and key of story ``drop`` into story ``keep``."""
    if keep == drop:
        return
    conn.execute(update(ArticleRow).where(ArticleRow.story_id == drop).values(story_id=keep))
    moved = list(
        conn.execute(
            select(StoryKeyRow.kind, StoryKeyRow.value, StoryKeyRow.day).where(
                StoryKeyRow.story_id == drop
            )
        )
    )
    if moved:
        conn.execute(
            insert(db, StoryKeyRow.__table__).on_conflict_do_nothing(),
            [{"story_id": keep, "kind": k, "value": v, "day": d} for k, v, d in moved],
        )
    conn.execute(delete(StoryRow).where(StoryRow.id == drop))
    refresh_story(conn, keep, now)


def reset(conn: Connection, since: datetime | None) -> int:
    """Forget copies and stories of articles published since ``since`` (all when None), and of
    every story they belong to, so that they are clustered again; return how many."""
    chosen = select(ArticleRow.id)
    if since is not None:
        chosen = chosen.where(since <= _WHEN)
    stories = select(ArticleRow.story_id).where(
        ArticleRow.id.in_(chosen), ArticleRow.story_id.is_not(None)
    )
    ids = list(
        conn.execute(
            select(ArticleRow.id).where(
                or_(
                    ArticleRow.id.in_(chosen),
                    ArticleRow.story_id.in_(stories),
                    ArticleRow.duplicate_of.in_(chosen),
                )
            )
        ).scalars()
    )
    story_ids = set(
        conn.execute(
            select(ArticleRow.story_id).where(
                ArticleRow.id.in_(ids), ArticleRow.story_id.is_not(None)
            )
        ).scalars()
    )
    for chunk in _chunks(ids):
        conn.execute(
            update(ArticleRow)
            .where(ArticleRow.id.in_(chunk))
            .values(
                duplicate_of=None,
                copy_method=None,
                copy_similarity=None,
                story_id=None,
                story_score=None,
                story_evidence=None,
                clustered_at=None,
            )
        )
        conn.execute(delete(BandRow).where(BandRow.article_id.in_(chunk)))
        conn.execute(delete(SketchRow).where(SketchRow.article_id.in_(chunk)))
    for chunk in _chunks(sorted(s for s in story_ids if s is not None)):
        conn.execute(delete(StoryRow).where(StoryRow.id.in_(chunk)))
    return len(ids)


def _chunks(items: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
