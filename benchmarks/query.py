"""Query benchmark: `newswatch events` start-up and `GET /api/events` on a large database.

Generates a database the size of a year of collecting (default 100,000 articles and 10,000
tracked events; SQLite at head schema, event_terms and the full-text index filled by the
pipeline's own functions), then prints, all measured in this run (the machine is noisy, so
only ratios and the issue's targets are compared):

- `newswatch events` on the demo database, start-up included: median and max of 7 runs, against
  ``python -c pass`` and ``python -c "import sqlalchemy"`` (target <= 0.5 s; Prefect must not be
  imported); the same command on the generated database with ``--topic pricing``;
- `newswatch web` on the generated database: p50/p95/max of sequential GETs of
  ``/api/events`` with realistic filters (target: p95 <= 100 ms over all of them), against the
  server's floor (a GET of an unknown path: routing, middleware and the HTTP round trip, no
  query), with the in-process time of ``list_events`` and ``count_events`` beside each;
- for information, ``/api/articles?q=`` (English, Chinese, Korean), ``/api/stats`` and
  ``/api/events/{id}``.

With ``--postgres`` the API figures are measured again on a fresh PostgreSQL database at
127.0.0.1:5432 (created and dropped). ``--explain`` prints SQLite's query plan of each filter.

Not generated (the API does not read them): entries, runs, story keys, sketches and bands.

    python benchmarks/query.py
    python benchmarks/query.py --articles 20000 --events 2000 --keep /tmp/query.db
    python benchmarks/query.py --postgres
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import yaml
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.collect import _free_port  # noqa: E402
from benchmarks.query_data import SEED, Generated, generate_database  # noqa: E402
from db.models import (  # noqa: E402
    SEARCH_TABLE,
    ArticleRow,
    EventRow,
    EventTermRow,
)
from pipeline.fulltext import fts5_match, parse_query, tsquery  # noqa: E402
from pipeline.store.database import Database, open_database  # noqa: E402
from pipeline.store.events_query import EventFilter, count_events, list_events  # noqa: E402

PYTHON_PASS = [sys.executable, "-c", "pass"]
PYTHON_SQLALCHEMY = [sys.executable, "-c", "import sqlalchemy"]
SEARCH_WORDS = ("pricing", "降价", "딥시크")  # an English word, a Chinese bigram, Korean
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def rare_entity(db: Database) -> tuple[str, int]:
    """The entity named by the fewest events (at least 10), and how many."""
    query = (
        select(EventTermRow.value, func.count().label("n"))
        .where(EventTermRow.kind == "entity")
        .group_by(EventTermRow.value)
        .having(func.count() >= 10)
        .order_by(func.count(), EventTermRow.value)
        .limit(1)
    )
    with db.connect() as conn:
        row = conn.execute(query).one()
    entry = yaml.safe_load((ROOT / "seeds" / "entities.yaml").read_text(encoding="utf-8"))
    names = {str(e["name"]).casefold(): str(e["name"]) for e in entry["entities"]}
    return names.get(row.value, row.value), int(row.n)


# ------------------------------------------------------------------------------ measuring


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def newswatch_argv(*args: str) -> list[str]:
    """The `newswatch` console script of this interpreter's environment (as a user runs it)."""
    script = Path(sys.executable).parent / "newswatch"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "flows.cli", *args]


def wall_times(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    """Wall seconds of ``runs`` runs of ``argv`` (after one unmeasured run to warm the cache)."""
    times = []
    for attempt in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(
            argv,
            check=False,
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{argv} failed ({done.returncode}): {done.stderr[-2000:]}")
        if attempt:
            times.append(elapsed)
    return times


def imports_prefect(db_url: str, env: dict[str, str]) -> bool:
    """Whether `newswatch events` imports any Prefect module."""
    probe = (
        "import sys\n"
        "from flows.cli import main\n"
        f"main(['events', '--db', {db_url!r}])\n"
        "print('PREFECT', any(m == 'prefect' or m.startswith('prefect.') for m in sys.modules),"
        " file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    return "PREFECT True" in done.stderr


def make_demo(home: Path) -> str:
    """`newswatch demo` into ``home``; its database URL."""
    env = {**os.environ, "NEWSWATCH_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    env.pop("NEWSWATCH_DB", None)
    start = time.perf_counter()
    subprocess.run(
        newswatch_argv("demo", "--port", "0", "--no-progress"),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    print(f"demo database made in {time.perf_counter() - start:.1f} s", flush=True)
    return f"sqlite:///{home / 'newswatch.db'}"


@contextmanager
def web_server(db_url: str, home: Path) -> Iterator[str]:
    """`newswatch web` on a free loopback port; its base URL."""
    port = _free_port()
    env = {**os.environ, "NEWSWATCH_HOME": str(home)}
    process = subprocess.Popen(
        newswatch_argv("web", "--port", str(port), "--db", db_url),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"newswatch web exited with {process.returncode}")
            try:
                httpx.get(base + "/api/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("newswatch web did not answer within 60 s") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True, slots=True)
class Timed:
    """Latencies of one route in milliseconds, and what it answered."""

    name: str
    path: str
    ms: list[float]
    total: int | None = None
    extra: str = ""

    @property
    def p50(self) -> float:
        return percentile(self.ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.ms, 95)

    @property
    def max(self) -> float:
        return max(self.ms)


def timed_gets(
    client: httpx.Client,
    name: str,
    path: str,
    n: int,
    expect: int = 200,
    warmup: int = 5,
    budget_s: float | None = None,
) -> Timed:
    """``n`` sequential GETs of ``path`` (after ``warmup`` unmeasured ones); with ``budget_s``,
    fewer (at least 5) when they take longer than that in all."""
    ms: list[float] = []
    total = None
    began = time.perf_counter()
    for attempt in range(warmup + n):
        if budget_s is not None and len(ms) >= 5 and time.perf_counter() - began > budget_s:
            break
        start = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != expect:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:500]}")
        if attempt == 0 and expect == 200:
            body = response.json()
            if isinstance(body, dict) and "total" in body:
                total = int(body["total"])
            elif isinstance(body, dict) and "items" in body:
                total = len(body["items"])
        if attempt >= warmup:
            ms.append(elapsed)
    return Timed(name, path, ms, total)


@dataclass(frozen=True, slots=True)
class Query:
    """A realistic `GET /api/events` and the same filter in-process."""

    name: str
    params: dict[str, str]

    @property
    def path(self) -> str:
        return str(httpx.URL("/api/events", params=self.params))

    def event_filter(self) -> EventFilter:
        """The filter the API builds from these parameters."""
        p = self.params

        def day(value: str | None, end: bool) -> datetime | None:
            if value is None:
                return None
            moment = datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
            return moment + timedelta(days=1, microseconds=-1) if end else moment

        return EventFilter(
            topic=p.get("topic"),
            entity=p.get("entity"),
            since=day(p.get("since"), end=False),
            until=day(p.get("until"), end=True),
            lang=p.get("lang"),
            min_sources=int(p.get("min_sources", "1")),
            limit=int(p.get("limit", "50")),
            offset=int(p.get("offset", "0")),
        )


def event_queries(rare: str) -> list[Query]:
    """The filters a dashboard user or a script asks for."""
    month = {"since": "2025-03-01", "until": "2025-03-31"}
    return [
        Query("no filter", {}),
        Query("topic=pricing", {"topic": "pricing"}),
        Query("entity=Baidu", {"entity": "Baidu"}),
        Query(f"entity={rare} (rare)", {"entity": rare}),
        Query("since/until a month", month),
        Query("pricing+Baidu+month", {"topic": "pricing", "entity": "Baidu", **month}),
        Query("lang=ko&min_sources=2", {"lang": "ko", "min_sources": "2"}),
        Query("offset=2000", {"offset": "2000"}),
        Query("model_launch offset=2000", {"topic": "model_launch", "offset": "2000"}),
        Query("limit=200", {"limit": "200"}),
    ]


def search_matches(db: Database, word: str) -> int:
    """How many articles the index finds for ``word`` (all pages; the API ranks them all)."""
    phrases = parse_query(word)
    if db.dialect == "postgresql":
        match = (
            "to_tsvector('simple', body) @@ to_tsquery('simple', :q)",
            tsquery(phrases),
        )
    else:
        match = (f"{SEARCH_TABLE} MATCH :q", fts5_match(phrases))
    with db.connect() as conn:
        found = conn.execute(
            text(f"SELECT count(*) FROM {SEARCH_TABLE} WHERE {match[0]}"), {"q": match[1]}
        )
        return int(found.scalar_one())


def in_process_ms(db: Database, wanted: EventFilter, runs: int = 15) -> tuple[float, float]:
    """Median milliseconds of ``list_events`` and of ``count_events`` called directly."""
    lists, counts = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        list_events(db, wanted)
        t1 = time.perf_counter()
        count_events(db, wanted)
        t2 = time.perf_counter()
        lists.append((t1 - t0) * 1000)
        counts.append((t2 - t1) * 1000)
    return statistics.median(lists), statistics.median(counts)


def explain(db: Database, queries: list[Query]) -> None:
    """SQLite's plan of the list and count statements of each filter."""
    from sqlalchemy.dialects import sqlite

    from pipeline.store.events_query import count_query, page_query

    for query in queries:
        wanted = query.event_filter()
        listing = page_query(wanted)
        counting = count_query(wanted)
        print(f"\n-- {query.name}")
        for label, stmt in (("list", listing), ("count", counting)):
            compiled = stmt.compile(
                dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}
            )
            with db.connect() as conn:
                plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
            print(f"   {label}: " + " | ".join(str(row[-1]) for row in plan))


@dataclass(slots=True)
class ApiFigures:
    """Everything measured against one server."""

    floor: Timed
    events: list[tuple[Timed, float, float]]
    info: list[Timed]
    matches: dict[str, int]

    @property
    def overall_p95(self) -> float:
        return percentile([ms for timed, _l, _c in self.events for ms in timed.ms], 95)


def measure_api(db: Database, db_url: str, home: Path, requests: int, rare: str) -> ApiFigures:
    """Start `newswatch web` on ``db_url`` and time its routes."""
    queries = event_queries(rare)
    in_process = [in_process_ms(db, q.event_filter()) for q in queries]
    with (
        web_server(db_url, home) as base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        floor = timed_gets(client, "server floor (404)", "/api/no-such-route", requests, 404, 20)
        events = []
        for query, (list_ms, count_ms) in zip(queries, in_process, strict=True):
            events.append((timed_gets(client, query.name, query.path, requests), list_ms, count_ms))
        first_id = client.get("/api/events", params={"limit": "1"}).json()["items"][0]["id"]
        # For information only: slow routes get 30 s each, so that a slow one cannot stall the
        # run for an hour.
        info = [
            timed_gets(
                client, f"articles q={word}", f"/api/articles?q={word}", requests, 200, 2, 30
            )
            for word in SEARCH_WORDS
        ]
        info += [
            timed_gets(client, "stats", "/api/stats", requests, 200, 2, 30),
            timed_gets(client, f"event {first_id}", f"/api/events/{first_id}", requests),
        ]
    matches = {f"articles q={word}": search_matches(db, word) for word in SEARCH_WORDS}
    return ApiFigures(floor, events, info, matches)


def print_api(label: str, figures: ApiFigures, target_ms: float) -> None:
    """The API figures as a table."""
    floor = figures.floor
    print(f"\n[{label}] GET /api/events, sequential requests")
    head = f"{'query':30} {'total':>6} {'p50':>7} {'p95':>7} {'max':>7} {'p95/floor':>9}"
    print(f"{head} {'list':>7} {'count':>7}   (ms; list/count: in-process median)")
    for timed, list_ms, count_ms in figures.events:
        print(
            f"{timed.name[:30]:30} {timed.total or 0:>6} {timed.p50:>7.1f} {timed.p95:>7.1f} "
            f"{timed.max:>7.1f} {timed.p95 / floor.p95:>9.1f} {list_ms:>7.1f} {count_ms:>7.1f}"
        )
    print(
        f"{floor.name:30} {'':>6} {floor.p50:>7.1f} {floor.p95:>7.1f} {floor.max:>7.1f} {1.0:>9.1f}"
    )
    overall = figures.overall_p95
    verdict = "met" if overall <= target_ms else "NOT met"
    print(
        f"overall p95 over {sum(len(t.ms) for t, _l, _c in figures.events)} requests: "
        f"{overall:.1f} ms = {overall / floor.p95:.1f} x floor (target <= {target_ms:.0f} ms: "
        f"{verdict})"
    )
    print(f"[{label}] for information")
    for timed in figures.info:
        shown = "" if timed.total is None else f"{timed.total} items, "
        if timed.name in figures.matches:
            shown = f"{figures.matches[timed.name]} articles match, " + shown
        print(
            f"  {timed.name:28} {shown}p50 {timed.p50:.1f} ms, p95 {timed.p95:.1f} ms, "
            f"max {timed.max:.1f} ms ({len(timed.ms)} requests)"
        )


# ------------------------------------------------------------------------------ PostgreSQL


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """An empty PostgreSQL database on 127.0.0.1:5432, dropped afterwards; its URL."""
    name = f"newswatch_query_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ------------------------------------------------------------------------------ main


def _generated_sqlite(path: Path, n_articles: int, n_events: int) -> Generated | None:
    """Generate the SQLite database at ``path``, or reuse it when it already has the sizes."""
    url = f"sqlite:///{path}"
    if path.exists():
        db = open_database(url)
        try:
            with db.connect() as conn:
                articles = conn.execute(select(func.count()).select_from(ArticleRow)).scalar_one()
                events = conn.execute(select(func.count()).select_from(EventRow)).scalar_one()
        finally:
            db.dispose()
        if (articles, events) != (n_articles, n_events):
            raise SystemExit(
                f"{path} holds {articles} articles and {events} events, not {n_articles} and "
                f"{n_events}: remove it or choose another --keep path"
            )
        print(f"reusing {path}: {articles} articles, {events} events", flush=True)
        return None
    db = open_database(url, upgrade=True)
    try:
        made = generate_database(db, n_articles, n_events, SEED)
    finally:
        db.dispose()
    _print_generated("SQLite", made, path.stat().st_size)
    return made


def _print_generated(label: str, made: Generated, size: int | None) -> None:
    shown = f", {size / 2**20:.0f} MB on disk" if size is not None else ""
    print(
        f"generated ({label}): {made.articles} articles, {made.stories} stories, "
        f"{made.events} events in {made.total_s:.1f} s (text {made.text_s:.1f} s, article "
        f"inserts {made.insert_s:.1f} s, search index {made.index_s:.1f} s, events and terms "
        f"{made.events_s:.1f} s){shown}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000, help="articles to generate")
    parser.add_argument("--events", type=int, default=10_000, help="tracked events to generate")
    parser.add_argument(
        "--keep",
        metavar="PATH",
        type=Path,
        help="write the SQLite database here and keep it (reused when it exists)",
    )
    parser.add_argument("--requests", type=int, default=200, help="GETs per query (default 200)")
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (default 7)")
    parser.add_argument("--postgres", action="store_true", help="measure PostgreSQL as well")
    parser.add_argument("--explain", action="store_true", help="print SQLite's query plans")
    args = parser.parse_args()
    cli_target_s, api_target_ms = 0.5, 100.0

    work = Path(tempfile.mkdtemp(prefix="newswatch-query-bench-"))
    try:
        path = args.keep.resolve() if args.keep else work / "generated.db"
        _generated_sqlite(path, args.articles, args.events)
        url = f"sqlite:///{path}"

        env = {**os.environ, "NEWSWATCH_HOME": str(work)}
        env.pop("NEWSWATCH_DB", None)
        demo_url = make_demo(work / "demo")
        python_pass = wall_times(PYTHON_PASS, env, args.runs)
        python_sqlalchemy = wall_times(PYTHON_SQLALCHEMY, env, args.runs)
        events_demo = wall_times(newswatch_argv("events", "--db", demo_url), env, args.runs)
        events_big = wall_times(
            newswatch_argv("events", "--db", url, "--topic", "pricing"), env, args.runs
        )
        prefect = imports_prefect(demo_url, env)

        db = open_database(url)
        try:
            rare, rare_events = rare_entity(db)
            if args.explain:
                explain(db, event_queries(rare))
            sqlite_api = measure_api(db, url, work, args.requests, rare)
        finally:
            db.dispose()

        postgres_api = None
        if args.postgres:
            with fresh_postgres() as pg_url:
                pg = open_database(pg_url, upgrade=True)
                try:
                    made = generate_database(pg, args.articles, args.events, SEED)
                    _print_generated("PostgreSQL", made, None)
                    postgres_api = measure_api(pg, pg_url, work, args.requests, rare)
                finally:
                    pg.dispose()

        base = statistics.median(python_pass)
        print(f"\n=== summary ({args.articles} articles, {args.events} events) ===")
        print(f"`newswatch events`, start-up included, {args.runs} runs (median / max):")
        rows = [
            ("python -c pass (baseline)", python_pass),
            ('python -c "import sqlalchemy"', python_sqlalchemy),
            ("newswatch events (demo db)", events_demo),
            ("newswatch events --topic pricing (gen.)", events_big),
        ]
        for name, times in rows:
            print(
                f"  {name:42} {statistics.median(times):6.3f} s / {max(times):6.3f} s  "
                f"= {statistics.median(times) / base:5.1f} x python -c pass"
            )
        demo_median = statistics.median(events_demo)
        print(
            f"  events (demo) / import sqlalchemy: "
            f"{demo_median / statistics.median(python_sqlalchemy):.2f}; Prefect imported: "
            f"{'YES' if prefect else 'no'}; target <= {cli_target_s} s (median): "
            f"{'met' if demo_median <= cli_target_s and not prefect else 'NOT met'}"
            f" (max {max(events_demo):.3f} s)"
        )
        print(f"rare entity: {rare} ({rare_events} events)")
        print_api("SQLite", sqlite_api, api_target_ms)
        if postgres_api is not None:
            print_api("PostgreSQL", postgres_api, api_target_ms)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
