"""Migrations: an empty database upgrades to head, and the models match the migrated schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from db import migrate
from db.head import HEAD_REVISION
from db.models import SEARCH_TABLE, Base
from pipeline.errors import SchemaOutOfDateError
from pipeline.store.database import open_database, schema_status


def test_upgrade_empty_database_to_head_matches_models(db_url: str) -> None:
    database = open_database(db_url, upgrade=True)
    try:
        current, head = schema_status(database)
        assert current == head == migrate.head_revision()
        tables = set(inspect(database.engine).get_table_names())
        assert {"sources", "entries", "articles", "runs", "failures"} <= tables
        with database.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": _not_search_index}
            )
            diff = compare_metadata(context, Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        database.dispose()


def _not_search_index(name: str | None, kind: str, _parents: object) -> bool:
    # The full-text index is dialect-specific (FTS5 with shadow tables, or a GIN-indexed
    # table) and so not a model; tests/test_search.py covers it.
    return not (kind in {"table", "index"} and (name or "").startswith(SEARCH_TABLE))


def test_head_revision_constant_is_alembics_head() -> None:
    # open_database compares against this constant so that query commands skip Alembic.
    assert migrate.head_revision() == HEAD_REVISION


def test_upgrade_is_idempotent(db_url: str) -> None:
    open_database(db_url, upgrade=True).dispose()
    database = open_database(db_url, upgrade=True)
    assert schema_status(database)[0] == migrate.head_revision()
    database.dispose()


def test_database_behind_head_is_refused_without_upgrade(db_url: str) -> None:
    import pytest

    with pytest.raises(SchemaOutOfDateError, match="newswatch db upgrade"):
        open_database(db_url, upgrade=False)
