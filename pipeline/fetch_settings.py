"""Fetch settings (the ``settings:`` block of a sources file) and a loaded sources file.

Kept apart from ``pipeline.settings`` because building these pydantic models costs about 60 ms
at import, which the query commands (``newswatch events`` answers in under half a second) do
not need.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.records import Source

DEFAULT_USER_AGENT = (
    "newswatch/0.1 (+https://github.com/newswatch/newswatch; AI-industry news monitor)"
)


class FetchSettings(BaseModel):
    """How politely and safely pages and feeds are fetched (the ``settings:`` block)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = Field(10.0, gt=0)
    timeout: float = Field(30.0, gt=0, description="total time for one request, body included")
    max_page_bytes: int = Field(10 * 1024 * 1024, gt=0)
    concurrency: int = Field(8, ge=1, le=256, description="requests in flight over all hosts")
    per_host_concurrency: int = Field(2, ge=1, le=2)
    max_redirects: int = Field(5, ge=0, le=5)
    retry_after_max: float = Field(30.0, ge=0, description="longest Retry-After we wait for")
    max_retries: int = Field(2, ge=0, le=5, description="retries after 429/503")
    allow_hosts: tuple[str, ...] = ()
    robots: bool = True
    extract_workers: int = Field(0, ge=0, le=64, description="0 = one per CPU core")
    batch_size: int = Field(250, ge=1, le=10_000, description="pages per fetch-and-extract task")
    max_attempts: int = Field(3, ge=1, le=20, description="tries per page across runs")
    backfill_batches: int = Field(
        2, ge=1, le=16, description="page batches a backfill keeps in flight"
    )
    source_backoff: float = Field(
        900.0,
        ge=0,
        description="seconds a source that failed twice in a row rests before its next poll; "
        "doubled for each further failure; 0 polls failing sources every run",
    )
    source_backoff_max: float = Field(6 * 3600.0, ge=0, description="longest rest of a source")
    max_entries: int = Field(
        500, ge=1, le=100_000, description="entries taken from one feed per poll; more are skipped"
    )

    @field_validator("allow_hosts", mode="before")
    @classmethod
    def _list_to_tuple(cls, value: object) -> object:
        return tuple(value) if isinstance(value, list) else value

    @field_validator("allow_hosts")
    @classmethod
    def _lower_hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(host.strip().lower() for host in value)


@dataclass(frozen=True, slots=True)
class SourcesConfig:
    """A loaded sources file: fetch settings and the declared sources."""

    path: str
    fetch: FetchSettings
    sources: tuple[Source, ...]

    @property
    def feeds(self) -> tuple[Source, ...]:
        """The sources live collection polls (``kind: feed``)."""
        return tuple(s for s in self.sources if s.kind == "feed")
