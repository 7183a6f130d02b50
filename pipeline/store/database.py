"""Open the project database: reachability, schema revision, SQLite pragmas."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError

from db.head import HEAD_REVISION
from pipeline.errors import ConfigError, DatabaseError, SchemaOutOfDateError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Database:
    """An engine plus what we know about it; pass it to the other ``store`` functions."""

    engine: Engine
    url: str

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in a transaction; database errors come out as DatabaseError."""
        with self._translated(), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def begin_exclusive(self, name: str) -> Iterator[Connection]:
        """A transaction that runs alone among those using the same ``name``, across processes
        (a PostgreSQL advisory lock; SQLite's write lock, taken at BEGIN)."""
        with self._translated(), self.engine.connect() as plain:
            connection = plain.execution_options(immediate=self.dialect == "sqlite")
            with connection.begin():
                if self.dialect == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name}
                    )
                yield connection

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reading; database errors come out as DatabaseError."""
        with self._translated(), self.engine.connect() as connection:
            yield connection

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except DBAPIError as exc:
            raise DatabaseError(
                f"database error at {display_url(self.url)}: {str(exc.orig or exc).strip()}"
            ) from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own implicit transactions are switched off; _sqlite_begin starts ours, so
    # that a transaction can take the write lock up front (BEGIN IMMEDIATE) when it must.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers (export, queries) work while a collect writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 64 MiB of page cache (the default is 2 MiB): the LSH band index of a large database is
    # read at random, and a small cache turns each lookup into system calls.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get("immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create(url: str) -> Engine:
    """Build an engine for ``url`` (SQLite files get their folder and pragmas)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"invalid database URL {url!r}: {exc}") from exc
    try:
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(parsed, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigError(f"unsupported database URL {display_url(url)}: {exc}") from exc
    except OSError as exc:
        raise DatabaseError(f"cannot create the database folder for {url}: {exc}") from exc


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None for an empty database), read without Alembic."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def open_database(url: str, *, upgrade: bool = False, check: bool = True) -> Database:
    """Connect, then bring the schema to head (``upgrade``) or require it to be there."""
    engine = create(url)
    db = Database(engine, url)
    if not check:
        return db
    try:
        with engine.connect() as connection:
            current = current_revision(connection)
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        raise DatabaseError(
            f"cannot reach the database at {display_url(url)}: {str(exc.orig or exc).strip()}"
        ) from exc
    head = HEAD_REVISION
    if current != head:
        if not upgrade:
            engine.dispose()
            raise SchemaOutOfDateError(
                f"the database at {display_url(url)} is at revision {current or 'none'}, "
                f"this version needs {head}: run `newswatch db upgrade`"
            )
        log.info("upgrading database url=%s from=%s to=%s", display_url(url), current, head)
        from db import migrate
        from pipeline.store.derived import fill_derived

        try:
            migrate.upgrade(engine)
            fill_derived(db, current)
        except (OperationalError, DBAPIError) as exc:
            engine.dispose()
            raise DatabaseError(
                f"cannot upgrade the database at {display_url(url)}: {exc.orig or exc}"
            ) from exc
    return db


def schema_status(db: Database) -> tuple[str | None, str]:
    """(current revision, head revision)."""
    with db.connect() as connection:
        return current_revision(connection), HEAD_REVISION


def insert(db: Database, table: Any) -> Any:
    """A dialect INSERT that supports ``on_conflict_do_nothing`` and ``returning``."""
    if db.dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)
