"""Shared fixtures: a network guard, loopback sites, databases (SQLite and PostgreSQL), Prefect.

Tests never touch the internet: a guard installed for the whole session refuses any socket
connection that is not to a loopback address (or a Unix socket), and any name lookup that is
not for a loopback name or a numeric address.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

PG_ADMIN_URL = os.environ.get("NEWSWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


# --------------------------------------------------------------------------- network guard


def _is_loopback(host: Any) -> bool:
    if not isinstance(host, str):
        return False
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return host in ("localhost", "localhost.localdomain")


class NonLoopbackConnection(AssertionError):
    """A test tried to reach beyond this machine."""


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _guard_address(sock: socket.socket, address: Any) -> None:
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_loopback(host):
        raise NonLoopbackConnection(f"tests may only connect to loopback, not {address!r}")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _guard_address(self, address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _guard_address(self, address)
    return _real_connect_ex(self, address)


def _numeric(name: str) -> bool:
    # Numeric spellings, including inet_aton ones such as 2130706433 or 0x7f.1, need no DNS.
    try:
        ipaddress.ip_address(name.strip("[]").split("%", 1)[0])
        return True
    except ValueError:
        pass
    try:
        socket.inet_aton(name)
    except OSError:
        return False
    return True


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name is None or _is_loopback(name) or _numeric(name):
        return _real_getaddrinfo(host, *args, **kwargs)
    raise socket.gaierror(socket.EAI_NONAME, f"name lookup of {name!r} refused in tests")


def pytest_configure(config: pytest.Config) -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.pop("NEWSWATCH_DB", None)


# --------------------------------------------------------------------------- loopback sites


@pytest.fixture
def site() -> Iterator[Any]:
    """An empty loopback site on 127.0.0.1; add routes in the test."""
    from flows.loopback import LoopbackSite

    with LoopbackSite() as running:
        yield running


@pytest.fixture
def canary() -> Iterator[Any]:
    """A site on 127.0.0.2 that must never be contacted; check ``canary.total_hits()``."""
    from flows.loopback import LoopbackSite, Route

    with LoopbackSite(host="127.0.0.2") as running:
        running.add("/", Route(b"canary"))
        running.add("/latest/meta-data/", Route(b"secret"))
        yield running


# --------------------------------------------------------------------------- databases


def pg_admin() -> Any:
    """An autocommit connection to the PostgreSQL server as its admin user."""
    import psycopg

    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # a missing server is a failure, never a skip
        raise RuntimeError(
            f"PostgreSQL is required for these tests and is not reachable at {PG_ADMIN_URL}: "
            f"{exc}. Start it with: pg_ctlcluster --skip-systemctl-redirect "
            "$(ls /etc/postgresql) main start"
        ) from exc


@contextmanager
def fresh_pg_database(prefix: str) -> Iterator[str]:
    """Create an empty PostgreSQL database; yield its name; drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = pg_admin()
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        yield name
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    with fresh_pg_database("newswatch_test") as name:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'newswatch.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'newswatch.db'}"
        return
    yield request.getfixturevalue("pg_url")


# --------------------------------------------------------------------------- prefect


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """One Prefect test server for the session; yields its API URL for subprocesses too."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    with (
        prefect_test_harness(server_startup_timeout=120),
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield str(PREFECT_API_URL.value())
