"""Records passed between pipeline stages: small, frozen, typed.

Glossary (the one vocabulary used in code, tables, logs and docs):

Source
    A feed, sitemap or archive we read, as declared in ``seeds/sources.yaml``.
Entry
    One item announced by a source: its URL, title, summary and date.
Page
    The bytes behind an entry's URL, with the final URL after redirects and the HTTP headers.
Article
    The text and metadata extracted from a page: title, text, language, dates, canonical URL,
    fingerprint.
Story
    The cluster of articles that report the same real-world happening (a later stage).
Event
    A story relevant to the seed documents, with topics, entities and amounts (a later stage).
Alert
    One notification about one event for one rule (a later stage).
Failure
    A per-item failure (stage, source, URL, typed reason) kept as a value and reported in the
    run summary; never swallowed, never fatal to the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Stage(StrEnum):
    """Where in the pipeline a failure happened."""

    POLL = "poll"
    FETCH = "fetch"
    EXTRACT = "extract"
    STORE = "store"


class PollStatus(StrEnum):
    """Outcome of polling one source."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    FAILED = "failed"
    RESTING = "resting"  # not polled: failed several times in a row (pipeline.backoff)


@dataclass(frozen=True, slots=True)
class Source:
    """A feed declared in the sources file."""

    name: str
    url: str
    kind: str = "feed"
    lang: str | None = None
    tags: tuple[str, ...] = ()
    robots: bool = True
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class Validators:
    """HTTP cache validators kept per source for conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """A per-item failure with a typed reason (see ``pipeline.errors``)."""

    stage: Stage
    source: str
    url: str
    reason: str
    detail: str
    status: int | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One item announced by a source; ``url`` is normalized, ``link`` is as announced."""

    source: str
    url: str
    link: str
    title: str = ""
    summary: str = ""
    published_at: datetime | None = None
    lang: str | None = None
    robots: bool = True


@dataclass(frozen=True, slots=True)
class Page:
    """The bytes behind a URL after redirects."""

    url: str
    final_url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: datetime

    def header(self, name: str) -> str | None:
        """Return the first header called ``name`` (case-insensitive), if any."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Article:
    """Text and metadata extracted from a page."""

    url: str
    final_url: str
    canonical_url: str
    source: str
    title: str
    text: str
    lang: str | None
    published_at: datetime | None
    fetched_at: datetime
    fingerprint: str
    author: str | None = None
    site_name: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class PollResult:
    """What polling one source produced."""

    source: str
    status: PollStatus
    entries: tuple[Entry, ...] = ()
    validators: Validators = field(default_factory=Validators)
    skipped: int = 0
    warnings: tuple[str, ...] = ()
    failure: Failure | None = None
    http_status: int | None = None


@dataclass(frozen=True, slots=True)
class PageOutcome:
    """One entry after fetching and extraction: an article or a failure."""

    entry: Entry
    article: Article | None = None
    failure: Failure | None = None


@dataclass(frozen=True, slots=True)
class SourceReport:
    """Per-source line of a run summary."""

    source: str
    status: str
    entries: int = 0
    new: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a collect run did, per source and in total."""

    run_id: int
    started_at: datetime
    finished_at: datetime
    sources: tuple[SourceReport, ...]
    failures: tuple[Failure, ...] = ()
    # The clustering step: articles found to be copies, stories opened, articles joining one.
    copies: int = 0
    stories_opened: int = 0
    stories_joined: int = 0
    # The classification step: articles labelled, relevant ones, tracked events new/changed.
    classified: int = 0
    relevant: int = 0
    events_new: int = 0
    events_changed: int = 0

    @property
    def duration_s(self) -> float:
        """Wall time of the run in seconds."""
        return (self.finished_at - self.started_at).total_seconds()

    def total(self, name: str) -> int:
        """Sum one numeric column (entries, new, unchanged, failed, skipped) over sources."""
        return sum(int(getattr(report, name)) for report in self.sources)
