"""Settings: the one object built at an entry point (CLI or flow) and passed down.

This is the only module that reads ``NEWSWATCH_*`` environment variables:

- ``NEWSWATCH_DB``: SQLAlchemy URL of the project database (default: a SQLite file under the
  data directory).
- ``NEWSWATCH_HOME``: data directory (default ``$XDG_DATA_HOME/newswatch`` or
  ``~/.local/share/newswatch``).
- ``NEWSWATCH_SOURCES``: default sources file (default ``seeds/sources.yaml`` of this project).
- ``NEWSWATCH_SEEDS``: the folder of data files - entities.yaml, topics.yaml, rates.yaml and
  the seed documents (default ``seeds/`` of this project).
- ``NEWSWATCH_ALERTS``: the alert rules file (default ``alerts.yaml`` in the seeds folder).
- ``NEWSWATCH_COLLECT_EVERY``: how often ``newswatch serve`` runs collect: seconds, or a number
  with ``s``, ``m``, ``h`` (default ``30m``).
- ``NEWSWATCH_DIGEST_CRON``: the daily digest slot as a cron line (default ``0 8 * * *``).
- ``NEWSWATCH_TIMEZONE``: time zone of the cron line (default ``UTC``).
- ``NEWSWATCH_TASK_RUNNER``: where page extraction runs: ``local`` (threads and a process
  pool on this machine, the default) or ``dask``.
- ``NEWSWATCH_DASK_ADDRESS``: the Dask scheduler for ``dask`` (e.g. ``tcp://10.0.0.5:8786``);
  empty starts a local Dask cluster for the run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.dates import known_zone
from pipeline.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = PROJECT_ROOT / "seeds"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a command or flow needs, resolved once."""

    db_url: str
    home: Path
    sources_path: Path
    seeds_dir: Path = SEEDS_DIR
    collect_every: float = 30 * 60.0  # seconds between scheduled collect runs
    digest_cron: str = "0 8 * * *"
    timezone: str = "UTC"
    task_runner: str = "local"  # "local" or "dask"
    dask_address: str | None = None
    alerts_file: Path | None = None

    @property
    def alerts_path(self) -> Path:
        """The alert rules file."""
        return self.alerts_file or self.seeds_dir / "alerts.yaml"

    @property
    def entities_path(self) -> Path:
        """The entity alias table."""
        return self.seeds_dir / "entities.yaml"

    @property
    def auto_upgrade(self) -> bool:
        """SQLite files are embedded and upgraded on first use; PostgreSQL waits for
        ``newswatch db upgrade`` so that a shared database is never migrated by surprise."""
        return self.db_url.startswith("sqlite")


def data_home(env: Mapping[str, str]) -> Path:
    """The data directory from the environment."""
    if env.get("NEWSWATCH_HOME"):
        return Path(env["NEWSWATCH_HOME"]).expanduser()
    xdg = env.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "newswatch"


def default_db_url(home: Path) -> str:
    """The embedded SQLite database under the data directory."""
    return f"sqlite:///{home / 'newswatch.db'}"


TASK_RUNNERS = ("local", "dask")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$")
_UNIT = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str, name: str = "duration") -> float:
    """Seconds from ``90``, ``90s``, ``30m`` or ``1.5h``; a ConfigError names ``name``."""
    match = _DURATION.match(value)
    seconds = float(match.group(1)) * _UNIT[match.group(2)] if match else 0.0
    if seconds <= 0:
        raise ConfigError(f"{name}={value!r} is not a positive duration (e.g. 90, 90s, 30m, 1h)")
    return seconds


def _cron(value: str, name: str) -> str:
    fields = value.split()
    if len(fields) != 5 or not all(re.fullmatch(r"[0-9*/,\-A-Za-z]+", f) for f in fields):
        raise ConfigError(f"{name}={value!r} is not a cron line of five fields (e.g. 0 8 * * *)")
    return " ".join(fields)


def _zone(value: str, name: str) -> str:
    try:
        return known_zone(value)
    except ValueError as exc:
        raise ConfigError(f"{name}={value!r} is not a known time zone") from exc


def _runner(value: str, name: str) -> str:
    if value not in TASK_RUNNERS:
        raise ConfigError(f"{name}={value!r}: expected one of {', '.join(TASK_RUNNERS)}")
    return value


def load_settings(
    *,
    db_url: str | None = None,
    sources_path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve settings: explicit arguments first, then ``NEWSWATCH_*``, then defaults."""
    environ = os.environ if env is None else env
    home = data_home(environ)
    url = db_url or environ.get("NEWSWATCH_DB") or default_db_url(home)
    sources = sources_path or environ.get("NEWSWATCH_SOURCES") or SEEDS_DIR / "sources.yaml"
    seeds = environ.get("NEWSWATCH_SEEDS") or SEEDS_DIR
    every = environ.get("NEWSWATCH_COLLECT_EVERY") or "30m"
    return Settings(
        db_url=url,
        home=home,
        sources_path=Path(sources).expanduser(),
        seeds_dir=Path(seeds).expanduser(),
        collect_every=parse_duration(every, "NEWSWATCH_COLLECT_EVERY"),
        digest_cron=_cron(
            environ.get("NEWSWATCH_DIGEST_CRON") or "0 8 * * *", "NEWSWATCH_DIGEST_CRON"
        ),
        timezone=_zone(environ.get("NEWSWATCH_TIMEZONE") or "UTC", "NEWSWATCH_TIMEZONE"),
        task_runner=_runner(
            (environ.get("NEWSWATCH_TASK_RUNNER") or "local").strip().lower(),
            "NEWSWATCH_TASK_RUNNER",
        ),
        dask_address=environ.get("NEWSWATCH_DASK_ADDRESS") or None,
        alerts_file=Path(environ["NEWSWATCH_ALERTS"]).expanduser()
        if environ.get("NEWSWATCH_ALERTS")
        else None,
    )
