"""Collect benchmark: a loopback newsroom of N generated pages, collected by `newswatch collect`.

Prints, all measured in this run (the machine is noisy, so only ratios are compared):

- baseline: bare single-threaded ``trafilatura.extract`` over the same page bytes;
- first collect: wall time of the whole command (Python start, Prefect start, polling, fetching,
  extraction, storage), pages/s, and the ratio collect ÷ baseline (target ≤ 1.0);
- re-collect of unchanged feeds: wall time ÷ first run (target ≤ 0.10) and pages fetched again
  (target 0);
- peak RSS of the collect process tree (main process + extraction workers; target ≤ 500 MB).

Prefect modes (``--prefect``): ``server`` starts a local ``prefect server`` once (as
``newswatch serve`` and deployments do) and points the collect at it; ``temporary`` leaves
PREFECT_API_URL unset, so every collect starts Prefect's temporary API (~7 s here); ``both``.

    python benchmarks/collect.py --pages 1000
    python benchmarks/collect.py --pages 5000 --prefect server
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import trafilatura

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.generated import generate  # noqa: E402
from flows.local_server import LocalServer  # noqa: E402
from flows.loopback import LoopbackSite, Route  # noqa: E402
from flows.newsroom import RenderOptions, article_path, render_site, sources_yaml  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(routes: dict[str, Route], port: int, ready: Any) -> None:
    site = LoopbackSite(routes, port=port)

    def stats(handler: Any) -> Route:
        with site.lock:
            body = json.dumps(dict(site.hits)).encode()
        return Route(body, content_type="application/json", etag=False)

    site.add("/__stats", Route(dynamic=stats))
    site.start()
    ready.set()
    threading.Event().wait()


def start_site(routes: dict[str, Route], port: int) -> Any:
    """Serve ``routes`` on 127.0.0.1:``port`` from a forked process (terminate it after)."""
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    server = context.Process(target=_serve, args=(routes, port, ready), daemon=True)
    server.start()
    ready.wait(30)
    return server


def extract_baseline(bodies: list[bytes]) -> float:
    """Seconds bare single-threaded ``trafilatura.extract`` takes over ``bodies``."""
    start = time.perf_counter()
    for body in bodies:
        trafilatura.extract(body)
    return time.perf_counter() - start


def _hits(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/__stats", timeout=10) as response:
        data: dict[str, int] = json.loads(response.read())
    return data


@contextmanager
def prefect_server(home: Path) -> Iterator[str]:
    """A local `prefect server` on loopback with its own SQLite database (as `serve` starts)."""
    with LocalServer(home) as server:
        yield server.api_url


def run_collect(sources: Path, db_url: str, home: Path, api_url: str | None) -> dict[str, Any]:
    """Run `newswatch collect` as a user would; sample the RSS of its process tree."""
    return run_cli(
        ["collect", "--json", "--no-progress", "--sources", str(sources), "--db", db_url],
        home,
        api_url,
    )


def run_cli(argv: list[str], home: Path, api_url: str | None) -> dict[str, Any]:
    """Run a `newswatch` command printing JSON; sample the RSS of its process tree."""
    env = {**os.environ, "NEWSWATCH_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = peak_main = 0
    watched = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            tree = [watched, *watched.children(recursive=True)]
            # A temporary Prefect API runs as a child; it is Prefect's process, not ours.
            ours = [
                p
                for p in tree
                if "uvicorn" not in " ".join(p.cmdline())
                and "prefect.server" not in " ".join(p.cmdline())
            ]
            total = sum(p.memory_info().rss for p in ours)
            peak = max(peak, total)
            peak_main = max(peak_main, watched.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.1)
    out, err = process.communicate()
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({process.returncode}): {err[-2000:]}")
    summary = json.loads(out)
    return {
        "wall_s": wall,
        "peak_rss_mb": peak / 2**20,
        "peak_main_rss_mb": peak_main / 2**20,
        "summary": summary,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000, help="articles to generate")
    parser.add_argument("--per-feed", type=int, default=50)
    parser.add_argument(
        "--padding",
        type=int,
        default=10,
        help="boilerplate blocks per page (10 gives pages of ~75 KB)",
    )
    parser.add_argument("--prefect", choices=("server", "temporary", "both"), default="both")
    args = parser.parse_args()

    newsroom = generate(args.pages, per_feed=args.per_feed)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    routes = render_site(newsroom, base, RenderOptions(padding=args.padding))
    bodies = [routes[article_path(s)].body for s in newsroom.articles]
    sizes = sorted(len(b) for b in bodies)
    print(
        f"newsroom: {len(bodies)} pages in {len(newsroom.outlets)} feeds; page size min "
        f"{sizes[0] / 1024:.0f} KB, median {sizes[len(sizes) // 2] / 1024:.0f} KB"
    )

    server = start_site(routes, port)
    del routes
    baseline = extract_baseline(bodies)
    del bodies
    print(
        f"baseline: trafilatura.extract, 1 thread: {baseline:.2f} s "
        f"({args.pages / baseline:.1f} pages/s)"
    )

    work = Path(tempfile.mkdtemp(prefix="newswatch-bench-"))
    modes = ["server", "temporary"] if args.prefect == "both" else [args.prefect]
    try:
        sources = work / "sources.yaml"
        sources.write_text(
            sources_yaml(newsroom, base, allow_host=f"127.0.0.1:{port}"), encoding="utf-8"
        )
        for mode in modes:
            with contextmanager_for(mode, work) as api_url:
                db_url = f"sqlite:///{work / f'{mode}.db'}"
                before = _hits(port)
                first = run_collect(sources, db_url, work, api_url)
                middle = _hits(port)
                second = run_collect(sources, db_url, work, api_url)
                after = _hits(port)
            pages_first = sum(
                v - before.get(k, 0) for k, v in middle.items() if k.split("?")[0].endswith(".html")
            )
            pages_again = sum(
                v - middle.get(k, 0) for k, v in after.items() if k.split("?")[0].endswith(".html")
            )
            totals = first["summary"]["totals"]
            print(
                f"\n[prefect {mode}] first collect: {first['wall_s']:.2f} s, "
                f"{args.pages / first['wall_s']:.1f} pages/s, stored {totals['new']}, "
                f"failed {totals['failed']}, pages fetched {pages_first}"
            )
            print(
                f"[prefect {mode}] ratio collect / baseline: "
                f"{first['wall_s'] / baseline:.2f}  (target <= 1.0)"
            )
            print(
                f"[prefect {mode}] re-collect: {second['wall_s']:.2f} s = "
                f"{second['wall_s'] / first['wall_s']:.3f} of the first run (target <= 0.10), "
                f"pages fetched again: {pages_again} (target 0), "
                f"new: {second['summary']['totals']['new']}"
            )
            print(
                f"[prefect {mode}] peak RSS, collect process tree: "
                f"{first['peak_rss_mb']:.0f} MB (main process {first['peak_main_rss_mb']:.0f} MB;"
                f" target <= 500 MB)"
            )
    finally:
        server.terminate()
        shutil.rmtree(work, ignore_errors=True)
    return 0


@contextmanager
def contextmanager_for(mode: str, work: Path) -> Iterator[str | None]:
    """A Prefect server for ``server`` mode; nothing for ``temporary``."""
    if mode == "server":
        with prefect_server(work / "prefect-home") as url:
            yield url
    else:
        yield None


if __name__ == "__main__":
    sys.exit(main())
