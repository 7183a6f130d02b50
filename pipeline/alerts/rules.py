"""Alert rules (``seeds/alerts.yaml``): which tracked events to announce, and where.

Every error names the file and the line. Channels are Apprise URLs; a secret is written as a
reference, ``${NAME}`` to an environment variable or ``${prefect:block-name}`` to a Prefect
Secret block, resolved only when a message is sent and never stored, logged or printed (see
:func:`resolve_channel`).
"""

from __future__ import annotations

import os
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.dates import known_zone
from pipeline.errors import ConfigError
from pipeline.seedfile import Location, parse_yaml, read_text, require_unique, validate

# ${NAME}: an environment variable; ${prefect:block-name}: a Prefect Secret block (resolved by
# the caller's lookup, see flows/secrets.py).
_REFERENCE = re.compile(r"\$\{((?:prefect:[a-z0-9][a-z0-9\-]*)|[A-Za-z_][A-Za-z0-9_]*)\}")
TOPICS = ("model_launch", "pricing", "investment")


class _DigestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    at: str = Field("08:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)


class _HealthModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    failures: int = Field(3, ge=1, description="consecutive failed polls that make an outage")
    silent_hours: float = Field(48.0, gt=0, description="hours without a new entry")


class _RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    topics: list[str] = []
    entities: list[str] = []
    countries: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = []
    min_amount_usd: float | None = Field(None, ge=0)
    min_sources: int = Field(1, ge=1)
    languages: list[str] = []
    min_relevance: float = Field(0.0, ge=0, le=1)
    follow_up_sources: int = Field(3, ge=1, description="more sources that make a follow-up")
    digest: _DigestModel | None = None
    source_health: _HealthModel | None = None
    channels: list[str] = Field(min_length=1)

    @field_validator("topics")
    @classmethod
    def _known_topics(cls, value: list[str]) -> list[str]:
        unknown = [t for t in value if t not in TOPICS]
        if unknown:
            raise ValueError(f"unknown topic {unknown[0]!r} (known: {', '.join(TOPICS)})")
        return value

    @field_validator("channels")
    @classmethod
    def _channel_urls(cls, value: list[str]) -> list[str]:
        for channel in value:
            shown = _REFERENCE.sub("", channel)
            if "${" in shown:
                raise ValueError(
                    "a ${...} reference must be a variable name, e.g. ${SLACK_URL}, or a Prefect "
                    "Secret block, e.g. ${prefect:slack-url}"
                )
            if not channel.startswith("${") and "://" not in channel:
                raise ValueError(
                    f"{redact(channel)!r} is not an Apprise URL (e.g. json://host/path) "
                    "nor a ${VARIABLE} reference"
                )
        return value


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    rules: list[_RuleModel]


def _model_at(location: Location) -> type[BaseModel] | None:
    if location == ():
        return _FileModel
    if len(location) == 2 and location[0] == "rules":
        return _RuleModel
    if len(location) == 3 and location[0] == "rules" and location[2] == "digest":
        return _DigestModel
    if len(location) == 3 and location[0] == "rules" and location[2] == "source_health":
        return _HealthModel
    return None


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One rule: what an event must show, and the channels (as written, references unresolved)."""

    name: str
    channels: tuple[str, ...]
    topics: frozenset[str] = frozenset()
    entities: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()  # of a named company or model (entities.yaml)
    min_amount_usd: float | None = None
    min_sources: int = 1
    languages: frozenset[str] = frozenset()
    min_relevance: float = 0.0
    follow_up_sources: int = 3
    digest_at: time | None = None  # daily digest: one message per period at this local time
    digest_zone: str = "UTC"
    # A source-health rule: (consecutive failures, hours without a new entry); None for an
    # event rule.
    health: tuple[int, float] | None = None

    def digest_slot(self, now: datetime) -> datetime | None:
        """The latest digest time at or before ``now`` (UTC), or None for a rule that sends
        each alert as it comes."""
        if self.digest_at is None:
            return None
        zone = zoneinfo.ZoneInfo(self.digest_zone)
        local = now.astimezone(zone)
        slot = datetime.combine(local.date(), self.digest_at, zone)
        if slot > local:
            slot -= timedelta(days=1)
        return slot.astimezone(UTC)


def parse_rules(text: str, file: str) -> tuple[AlertRule, ...]:
    """Parse the text of a rules file; ``file`` is used in error messages."""
    data, lines = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping with 'rules'", path=file, line=1)
    model = validate(_FileModel, data, lines, file, _model_at)
    require_unique([r.name for r in model.rules], lines, file, "rules", "rule name")
    return tuple(
        AlertRule(
            name=r.name,
            channels=tuple(r.channels),
            topics=frozenset(r.topics),
            entities=frozenset(e.casefold() for e in r.entities),
            countries=frozenset(r.countries),
            min_amount_usd=r.min_amount_usd,
            min_sources=r.min_sources,
            languages=frozenset(r.languages),
            min_relevance=r.min_relevance,
            follow_up_sources=r.follow_up_sources,
            digest_at=time.fromisoformat(r.digest.at) if r.digest else None,
            digest_zone=r.digest.timezone if r.digest else "UTC",
            health=(
                (r.source_health.failures, r.source_health.silent_hours)
                if r.source_health
                else None
            ),
        )
        for r in model.rules
    )


def load_rules(path: str | os.PathLike[str]) -> tuple[AlertRule, ...]:
    """Read and validate a rules file."""
    return parse_rules(read_text(path, "rules file"), str(path))


def resolve_channel(channel: str, env: Mapping[str, str]) -> str:
    """The channel with its ``${NAME}`` references filled in from ``env``; a ConfigError names
    a missing variable, never a value."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if not env.get(name):
            raise ConfigError(f"the channel refers to ${{{name}}}, which is not set")
        return env[name]

    return _REFERENCE.sub(value, channel)


def shown_channel(channel: str) -> str:
    """A channel as it may be stored or printed: a ``${...}`` reference as written (it holds no
    secret), a literal URL redacted."""
    return channel if "${" in channel else redact(channel)


def redact(text: str) -> str:
    """``text`` with the secret parts of any URL in it hidden: user info, path and query
    (webhook tokens live there) are replaced by ``***``."""
    return re.sub(
        r"([A-Za-z][A-Za-z0-9+.\-]*://)(?:[^/@\s]*@)?([^/\s?#]*)[^\s]*",
        lambda m: f"{m.group(1)}{m.group(2)}/***",
        text,
    )
