"""Tables derived from others, filled once after the upgrade that creates them.

Migrations create tables; rows whose content is cut by project code (search terms) are
written here, after Alembic has finished, so that ``db/`` never imports ``pipeline/``.
"""

from __future__ import annotations

import logging

from pipeline.store.database import Database
from pipeline.store.event_terms import rebuild_terms
from pipeline.store.search import index_missing

log = logging.getLogger(__name__)

#: The revision that created the event filter index and the article search index.
QUERY_INDEXES = "0006"


def fill_derived(db: Database, upgraded_from: str | None) -> None:
    """Fill what the revisions after ``upgraded_from`` created empty."""
    if upgraded_from is not None and upgraded_from >= QUERY_INDEXES:
        return
    with db.begin() as conn:
        events = rebuild_terms(conn)
    articles = index_missing(db)
    if events or articles:
        log.info("filled query indexes events=%d articles=%d", events, articles)
