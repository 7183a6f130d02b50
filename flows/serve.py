"""``newswatch serve``: one long-lived process that runs the project's Prefect deployments.

Deployments (``flow/deployment``), run in this process by Prefect's runner:

- ``collect/newswatch``: every ``--every`` (default ``NEWSWATCH_COLLECT_EVERY``, 30m), on the
  sources file and database of the settings. One run at a time: a deployment concurrency limit
  of 1 with the ``CANCEL_NEW`` strategy, so when a run overruns its interval the next scheduled
  run is cancelled instead of stacked, and serve prints a warning naming both runs.
- ``digest/newswatch``: daily at ``--digest-cron`` (default ``NEWSWATCH_DIGEST_CRON``) in
  ``NEWSWATCH_TIMEZONE``.
- ``alerts/newswatch``: no schedule (each collect runs the alerts itself); by hand to retry.
- ``backfill/newswatch`` and ``reclassify/newswatch``: no schedule; run them by hand, e.g.
  ``prefect deployment run 'backfill/newswatch' --param start=2025-03-01 --param end=2025-03-07``.

Prefect API: the configured one (``PREFECT_API_URL``, from the environment or the Prefect
profile) when set; otherwise a local server started for this process
(:mod:`flows.local_server`), its data under ``<NEWSWATCH_HOME>/prefect``, stopped on exit.
The temporary API Prefect would start instead registers schedules and never runs them.

A database URL that carries a password is never stored with the deployments (their
parameters are visible in the Prefect UI): runs inherit ``NEWSWATCH_DB`` from this process,
and ``--db`` with a password is refused.

Stopping: Ctrl-C or SIGTERM. Prefect's runner cancels the runs in flight, the local server is
stopped, and the exit status is 0: stopping is how a service ends, not a failure. Other
statuses: 2 bad configuration (reported before any server starts) or a local server that
cannot start; 3 database unreachable.
"""

from __future__ import annotations

import argparse
import contextvars
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from flows.cli import EXIT_OK, quiet_prefect
from pipeline.errors import ConfigError
from pipeline.settings import Settings, load_settings, parse_duration

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments.runner import RunnerDeployment

DEPLOYMENT = "newswatch"  # the deployment name of every served flow: collect/newswatch, ...
SKIP_MARK = "concurrency limit"  # in the message of a run cancelled by the deployment limit


@dataclass(frozen=True, slots=True)
class ServePlan:
    """What serve runs, resolved and validated before anything starts."""

    every: float  # seconds between collect runs
    digest_cron: str
    timezone: str
    sources: str  # absolute path of the sources file
    db: str | None  # None: runs inherit NEWSWATCH_DB (a URL with a password)


def make_plan(settings: Settings, every: str | None, digest_cron: str | None) -> ServePlan:
    """Validate the flags against the settings; a ConfigError names the bad one."""
    seconds = parse_duration(every, "--every") if every is not None else settings.collect_every
    from prefect.schedules import Cron  # after the cheap checks: importing Prefect takes ~1 s

    cron = settings.digest_cron if digest_cron is None else " ".join(digest_cron.split())
    try:
        Cron(cron, timezone=settings.timezone)
    except ValueError as exc:
        name = "--digest-cron" if digest_cron is not None else "NEWSWATCH_DIGEST_CRON"
        raise ConfigError(f"{name}={cron!r} is not a valid cron line (e.g. 0 8 * * *)") from exc
    return ServePlan(
        every=seconds,
        digest_cron=cron,
        timezone=settings.timezone,
        sources=str(settings.sources_path.resolve()),
        db=None if _has_password(settings.db_url) else settings.db_url,
    )


def _has_password(url: str) -> bool:
    try:
        return make_url(url).password is not None
    except ArgumentError:
        return False  # opening the database reports the bad URL


def check_inputs(settings: Settings) -> None:
    """Fail before any server starts: sources file and seeds (exit 2), database (exit 3)."""
    from pipeline.classify import Classifier
    from pipeline.sources import load_sources
    from pipeline.store.database import open_database

    load_sources(settings.sources_path)
    Classifier.from_seeds(settings.seeds_dir)
    open_database(settings.db_url, upgrade=settings.auto_upgrade).dispose()


def build_deployments(plan: ServePlan) -> list[RunnerDeployment]:
    """The five deployments, addressed by module path (runs import the installed package)."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.deployments.runner import RunnerDeployment
    from prefect.schedules import Cron, Interval
    from prefect.types.entrypoint import EntrypointType

    from flows.alerts import alerts
    from flows.backfill import backfill
    from flows.collect import collect
    from flows.maintenance import digest, reclassify

    def one_at_a_time(strategy: ConcurrencyLimitStrategy) -> ConcurrencyLimitConfig:
        return ConcurrencyLimitConfig(limit=1, collision_strategy=strategy)

    def made(deployment: object) -> RunnerDeployment:
        # to_deployment is dual sync/async in Prefect 3.9; called from sync code it is sync.
        if not isinstance(deployment, RunnerDeployment):
            raise TypeError(f"expected a RunnerDeployment, got {deployment!r}")
        return deployment

    where: dict[str, Any] = {"sources": plan.sources, "db": plan.db}
    common: dict[str, Any] = {"entrypoint_type": EntrypointType.MODULE_PATH, "tags": ["newswatch"]}
    collect_every = collect.to_deployment(
        DEPLOYMENT,
        schedule=Interval(timedelta(seconds=plan.every)),
        # An overrun cancels the next run instead of stacking it; serve reports it.
        concurrency_limit=one_at_a_time(ConcurrencyLimitStrategy.CANCEL_NEW),
        parameters={**where, "show_progress": False},
        **common,
    )
    daily_digest = digest.to_deployment(
        DEPLOYMENT,
        schedule=Cron(plan.digest_cron, timezone=plan.timezone),
        concurrency_limit=one_at_a_time(ConcurrencyLimitStrategy.CANCEL_NEW),
        parameters={"db": plan.db},
        **common,
    )
    # Run by hand: a second request waits for the first instead of being dropped.
    by_hand = one_at_a_time(ConcurrencyLimitStrategy.ENQUEUE)
    backfill_on_demand = backfill.to_deployment(
        DEPLOYMENT,
        concurrency_limit=by_hand,
        parameters={**where, "show_progress": False},
        **common,
    )
    reclassify_on_demand = reclassify.to_deployment(
        DEPLOYMENT, concurrency_limit=by_hand, parameters={"db": plan.db}, **common
    )
    alerts_on_demand = alerts.to_deployment(
        DEPLOYMENT, concurrency_limit=by_hand, parameters={"db": plan.db}, **common
    )
    return [
        made(d)
        for d in (
            collect_every,
            daily_digest,
            backfill_on_demand,
            reclassify_on_demand,
            alerts_on_demand,
        )
    ]


# --------------------------------------------------------------------------- overrun reports


@dataclass(frozen=True, slots=True)
class RunView:
    """What the overrun report needs from a Prefect flow run."""

    id: str
    name: str
    state: str  # state type: SCHEDULED, PENDING, RUNNING, COMPLETED, CANCELLED, ...
    message: str
    changed: datetime  # when the run entered its current state
    expected: datetime | None  # its scheduled start
    start: datetime | None
    end: datetime | None


def duration_text(seconds: float) -> str:
    """``30m``, ``5s``, ``1h30m``: a duration as people write it."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{secs}s" if secs or not text else "")


def is_skipped(run: RunView) -> bool:
    """A run the deployment's concurrency limit cancelled instead of starting."""
    return run.state == "CANCELLED" and SKIP_MARK in run.message.lower()


def _began(run: RunView) -> datetime | None:
    # A run holds the deployment's slot from Pending on, seconds before Prefect records its
    # start (the flow's process is still starting): its scheduled start is the better mark.
    marks = [t for t in (run.expected, run.start) if t is not None]
    return min(marks, default=None)


def holder_at(moment: datetime, runs: Sequence[RunView], exclude: str) -> RunView | None:
    """The run (other than ``exclude``) that held the one slot at ``moment``, if known."""
    holders = []
    for run in runs:
        began = _began(run)
        if (
            run.id != exclude
            and run.state != "SCHEDULED"
            and not is_skipped(run)
            and began is not None
            and began <= moment
            and (run.end is None or run.end >= moment)
        ):
            holders.append((began, run))
    return max(holders, key=lambda pair: pair[0])[1] if holders else None


def skip_notice(skipped: RunView, runs: Sequence[RunView], every: float, zone: tzinfo) -> str:
    """The warning printed for a collect run cancelled because the previous one still ran."""
    interval = duration_text(every)
    holder = holder_at(skipped.changed, runs, skipped.id)
    began = _began(holder) if holder else None
    if holder is None or began is None:
        return (
            f"collect run {skipped.name} skipped: the previous run was still running "
            f"(one run at a time, every {interval})"
        )
    late = skipped.changed - began >= timedelta(seconds=every)
    return (
        f"collect run {skipped.name} skipped: the previous run {holder.name} "
        f"(started {began.astimezone(zone):%H:%M:%S}) is still running"
        + (f", longer than the {interval} interval" if late else "")
    )


def _view(run: FlowRun) -> RunView:
    state = run.state
    return RunView(
        id=str(run.id),
        name=run.name,
        state=str(state.type.value) if state else "UNKNOWN",
        message=(state.message or "") if state else "",
        changed=(state.timestamp if state else None) or run.updated or datetime.now(UTC),
        expected=run.expected_start_time,
        start=run.start_time,
        end=run.end_time,
    )


class SkipWatcher:
    """A thread that asks the Prefect API for collect runs the limit cancelled, and reports
    each once (runs cancelled before ``since`` are old news)."""

    def __init__(
        self,
        every: float,
        zone: tzinfo,
        report: Callable[[str], None],
        *,
        since: datetime,
        poll: float = 2.0,
    ) -> None:
        self.every = every
        self.zone = zone
        self.report = report
        self.since = since
        self.poll = poll
        self._seen: set[str] = set()
        self._stop = threading.Event()
        # Prefect's settings (the API URL) live in context variables: the thread gets ours.
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._loop,), name="newswatch-skip-watcher", daemon=True
        )

    def start(self) -> SkipWatcher:
        """Start watching."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching (within one poll)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.poll + 5)

    def __enter__(self) -> SkipWatcher:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.check()
            except Exception:  # noqa: S112 - the API may be busy or restarting; ask again
                continue

    def check(self) -> list[str]:
        """Report (and return) the notices for skipped runs not reported yet."""
        runs = self._collect_runs()
        notices = []
        for run in runs:
            if run.id in self._seen or not is_skipped(run) or run.changed < self.since:
                continue
            self._seen.add(run.id)
            notices.append(skip_notice(run, runs, self.every, self.zone))
        for notice in notices:
            self.report(notice)
        return notices

    def _collect_runs(self) -> list[RunView]:
        from prefect import get_client
        from prefect.client.schemas.filters import (
            DeploymentFilter,
            DeploymentFilterName,
            FlowFilter,
            FlowFilterName,
            FlowRunFilter,
            FlowRunFilterState,
            FlowRunFilterStateType,
        )
        from prefect.client.schemas.objects import StateType
        from prefect.client.schemas.sorting import FlowRunSort

        def of_type(
            *, any_: list[StateType] | None = None, not_any_: list[StateType] | None = None
        ) -> FlowRunFilter:
            return FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=any_, not_any_=not_any_))
            )

        flows = FlowFilter(name=FlowFilterName(any_=["collect"]))
        served = DeploymentFilter(name=DeploymentFilterName(any_=[DEPLOYMENT]))
        with get_client(sync_client=True) as client:
            # The latest runs that are past scheduling (up to 100 future ones are scheduled
            # ahead), and the ones holding the slot now, however old (a run left pending by
            # a stopped serve holds it until it runs or its lease ends).
            recent = client.read_flow_runs(
                flow_filter=flows,
                deployment_filter=served,
                flow_run_filter=of_type(not_any_=[StateType.SCHEDULED]),
                sort=FlowRunSort.EXPECTED_START_TIME_DESC,
                limit=50,
            )
            active = client.read_flow_runs(
                flow_filter=flows,
                deployment_filter=served,
                flow_run_filter=of_type(any_=[StateType.PENDING, StateType.RUNNING]),
                limit=20,
            )
        runs = {run.id: run for run in [*recent, *active]}.values()
        return [_view(run) for run in runs]


# --------------------------------------------------------------------------- the command


class Stopped(BaseException):
    """SIGTERM arrived before Prefect's runner took over the signal."""


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise Stopped

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _signals_ignored() -> Iterator[None]:
    """While cleaning up, a second Ctrl-C or SIGTERM must not cut the server's stop short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _print_plan(plan: ServePlan, api_url: str, err: Console) -> None:
    every = duration_text(plan.every)
    run = f"PREFECT_API_URL={api_url} prefect deployment run"
    lines = [
        f"  collect/{DEPLOYMENT}     every {every}, one run at a time (overruns are skipped "
        "and reported)",
        f"  digest/{DEPLOYMENT}      {plan.digest_cron} ({plan.timezone})",
        f"  backfill/{DEPLOYMENT}    by hand: {run} 'backfill/{DEPLOYMENT}' "
        "--param start=YYYY-MM-DD --param end=YYYY-MM-DD",
        f"  reclassify/{DEPLOYMENT}  by hand: {run} 'reclassify/{DEPLOYMENT}' "
        "[--param since=YYYY-MM-DD]",
        f"  alerts/{DEPLOYMENT}      after each collect, or by hand: {run} 'alerts/{DEPLOYMENT}'",
    ]
    err.print("Serving:\n" + "\n".join(lines), highlight=False, markup=False, soft_wrap=True)
    if plan.db is None:
        err.print(
            "The database URL carries a password: runs read it from NEWSWATCH_DB, it is not "
            "stored with the deployments.",
            highlight=False,
        )
    err.print("Ctrl-C or SIGTERM stops serve.", highlight=False)


def _check_api(api_url: str) -> None:
    """A configured API that does not answer is a configuration error (exit 2)."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        problem = client.api_healthcheck()
    if problem is not None:
        raise ConfigError(
            f"the Prefect API at {api_url} (PREFECT_API_URL) does not answer: "
            f"{problem.__class__.__name__}: {problem}"
        )


@contextmanager
def prefect_api(settings: Settings, err: Console) -> Iterator[str]:
    """The API to serve against: the configured one, else a local server for the block."""
    from prefect.settings import get_current_settings

    from flows.local_server import LocalServer

    configured = get_current_settings().api.url
    if configured:
        _check_api(configured)
        err.print(f"Prefect API: {configured}", highlight=False)
        yield configured
        return
    server = LocalServer(settings.home / "prefect")
    err.print(
        f"Starting a local Prefect server (data in {server.prefect_home}) ...", highlight=False
    )
    try:
        server.start()
        # Flow runs are subprocesses: they find the server through the environment.
        os.environ["PREFECT_API_URL"] = server.api_url
        err.print(
            f"Prefect UI: {server.url}  (API {server.api_url}, server pid {server.pid}, "
            f"log {server.log_path})",
            highlight=False,
            soft_wrap=True,
        )
        yield server.api_url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        with _signals_ignored():
            err.print("Stopping the local Prefect server ...", highlight=False)
            server.stop()


def _serve(plan: ServePlan, settings: Settings, err: Console) -> None:
    from prefect import serve
    from prefect.settings import PREFECT_API_URL, temporary_settings

    def warn(notice: str) -> None:
        err.print(f"[yellow]warning:[/yellow] {escape(notice)}", highlight=False, soft_wrap=True)

    try:
        with prefect_api(settings, err) as api_url, temporary_settings({PREFECT_API_URL: api_url}):
            deployments = build_deployments(plan)
            _print_plan(plan, api_url, err)
            # Poll often enough that a short interval is not served in bursts, and prefetch
            # less than one interval, so one poll never hands the runner two collect runs
            # (the limit would cancel the second). Prefect's defaults: 10 s and 10 s.
            cadence = min(10.0, max(1.0, plan.every / 2))
            zone = ZoneInfo(plan.timezone)
            with SkipWatcher(plan.every, zone, warn, since=datetime.now(UTC), poll=cadence):
                serve(
                    *deployments,
                    pause_on_shutdown=False,
                    print_starting_message=False,
                    query_seconds=cadence,
                    prefetch_seconds=cadence,
                )
    except (Stopped, KeyboardInterrupt):
        pass  # a requested stop; everything started is stopped by now
    err.print("serve stopped", highlight=False)


def cmd_serve(args: argparse.Namespace, out: Console, err: Console) -> int:
    """newswatch serve."""
    quiet_prefect(args.verbose)
    settings = load_settings(db_url=args.db, sources_path=args.sources)
    if args.db and _has_password(args.db):
        raise ConfigError(
            "--db carries a password, which would be stored with the deployments (visible "
            "in the Prefect UI); set NEWSWATCH_DB instead"
        )
    plan = make_plan(settings, args.every, args.digest_cron)
    check_inputs(settings)
    with _sigterm_raises():
        _serve(plan, settings, err)
    return EXIT_OK
