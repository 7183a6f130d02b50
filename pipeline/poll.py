"""Polling sources: fetch a feed conditionally and parse its entries; failures become values."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from pipeline.errors import FeedError, FetchError
from pipeline.feeds import parse_feed
from pipeline.fetch import Fetcher
from pipeline.fetch_settings import FetchSettings
from pipeline.records import Failure, PollResult, PollStatus, Source, Stage, Validators
from pipeline.urls import host_port

log = logging.getLogger(__name__)


def poll_source(
    fetcher: Fetcher, source: Source, validators: Validators, now: datetime
) -> PollResult:
    """Poll one source; never raises for a bad feed, returns a failed PollResult instead."""
    try:
        return _poll(fetcher, source, validators, now)
    except Exception as exc:  # an unforeseen crash on one feed must not end the run
        log.exception("poll crashed source=%s url=%s", source.name, source.url)
        detail = f"{exc.__class__.__name__}: {exc}"[:500]
        failure = Failure(Stage.POLL, source.name, source.url, "internal_error", detail)
        return PollResult(source.name, PollStatus.FAILED, failure=failure)


def _poll(fetcher: Fetcher, source: Source, validators: Validators, now: datetime) -> PollResult:
    try:
        page = fetcher.fetch_feed(source.url, validators)
    except FetchError as exc:
        log.warning(
            "poll failed source=%s url=%s reason=%s detail=%s",
            source.name,
            source.url,
            exc.reason,
            exc,
        )
        failure = Failure(Stage.POLL, source.name, source.url, exc.reason, str(exc), exc.status)
        return PollResult(source.name, PollStatus.FAILED, failure=failure, http_status=exc.status)
    if page.status == 304:
        return PollResult(
            source.name, PollStatus.NOT_MODIFIED, validators=validators, http_status=304
        )
    try:
        parsed = parse_feed(page, source, now=now, max_entries=fetcher.settings.max_entries)
    except FeedError as exc:
        log.warning("feed unusable source=%s url=%s detail=%s", source.name, source.url, exc)
        failure = Failure(Stage.POLL, source.name, source.url, exc.reason, str(exc), page.status)
        return PollResult(source.name, PollStatus.FAILED, failure=failure, http_status=page.status)
    for warning in parsed.warnings:
        log.info("feed warning source=%s detail=%s", source.name, warning)
    fresh = Validators(page.header("ETag"), page.header("Last-Modified"))
    return PollResult(
        source.name,
        PollStatus.OK,
        entries=parsed.entries,
        validators=fresh,
        skipped=parsed.skipped,
        warnings=parsed.warnings,
        http_status=page.status,
    )


def group_by_host(sources: Sequence[Source]) -> dict[str, list[Source]]:
    """Sources keyed by ``host:port`` of their URL, in declaration order."""
    groups: dict[str, list[Source]] = defaultdict(list)
    for source in sources:
        groups[host_port(source.url)].append(source)
    return dict(groups)


def poll_sources(
    sources: Sequence[Source],
    validators: Mapping[str, Validators],
    settings: FetchSettings,
    now: datetime,
    *,
    fetcher: Fetcher | None = None,
) -> list[PollResult]:
    """Poll sources that share a host, at most ``per_host_concurrency`` at a time."""
    own = fetcher is None
    client = fetcher or Fetcher(settings)
    try:
        with ThreadPoolExecutor(
            max_workers=min(settings.per_host_concurrency, max(1, len(sources))),
            thread_name_prefix="poll",
        ) as pool:
            futures = [
                pool.submit(
                    poll_source, client, source, validators.get(source.name, Validators()), now
                )
                for source in sources
            ]
            return [future.result() for future in futures]
    finally:
        if own:
            client.close()
