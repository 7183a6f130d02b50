"""Backfill benchmark: a month of sitemap history (N generated pages) backfilled by
`newswatch backfill`, against a local Prefect server.

The newsroom's articles are spread evenly over March 2025 and listed in a sitemap index of
monthly Google-News sitemaps (February, March and April; March gzipped). Prints, all measured
in this run (the machine is noisy, so only ratios are compared):

- baseline: bare single-threaded ``trafilatura.extract`` over the same page bytes;
- collect of the same pages from their feeds (the live path), wall time;
- backfill of March: wall time, pages/s, ratios to the baseline and to the collect;
- the same backfill again (every day done): wall time and pages fetched again (target 0);
- peak RSS of the backfill process tree.

    python benchmarks/backfill.py --pages 1000
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.collect import (  # noqa: E402
    _free_port,
    _hits,
    extract_baseline,
    prefect_server,
    run_cli,
    start_site,
)
from benchmarks.generated import generate  # noqa: E402
from flows.newsroom import RenderOptions, article_path, render_site, sources_yaml  # noqa: E402
from flows.sitemap_site import INDEX_PATH, render_sitemaps  # noqa: E402


def _pages(hits: dict[str, int], before: dict[str, int]) -> int:
    return sum(v - before.get(k, 0) for k, v in hits.items() if k.split("?")[0].endswith(".html"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000, help="articles in March 2025")
    parser.add_argument("--padding", type=int, default=10, help="boilerplate blocks per page")
    args = parser.parse_args()

    start = datetime(2025, 3, 1, tzinfo=UTC)
    newsroom = generate(args.pages, start=start, every=timedelta(days=31) / args.pages)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    routes = render_site(newsroom, base, RenderOptions(padding=args.padding))
    routes.update(render_sitemaps(newsroom, base, gzip_months={"2025-03"}))
    bodies = [routes[article_path(s)].body for s in newsroom.articles]
    print(f"newsroom: {len(bodies)} pages published in March 2025, one sitemap index")

    server = start_site(routes, port)
    del routes
    baseline = extract_baseline(bodies)
    del bodies
    print(f"baseline: trafilatura.extract, 1 thread: {baseline:.2f} s")

    work = Path(tempfile.mkdtemp(prefix="newswatch-bench-"))
    try:
        feeds = work / "feeds.yaml"
        feeds.write_text(
            sources_yaml(newsroom, base, allow_host=f"127.0.0.1:{port}"), encoding="utf-8"
        )
        history = work / "history.yaml"
        history.write_text(
            yaml.safe_dump(
                {
                    "settings": {"allow_hosts": [f"127.0.0.1:{port}"]},
                    "sources": [{"name": "history", "kind": "sitemap", "url": base + INDEX_PATH}],
                }
            ),
            encoding="utf-8",
        )
        backfill = ["backfill", "--json", "--no-progress", "--start", "2025-03-01"]
        backfill += ["--end", "2025-03-31", "--sources", str(history)]
        with prefect_server(work / "prefect-home") as api_url:
            live = run_cli(
                ["collect", "--json", "--no-progress", "--sources", str(feeds), "--db",
                 f"sqlite:///{work / 'live.db'}"],
                work,
                api_url,
            )  # fmt: skip
            db = ["--db", f"sqlite:///{work / 'history.db'}"]
            before = _hits(port)
            first = run_cli(backfill + db, work, api_url)
            middle = _hits(port)
            again = run_cli(backfill + db, work, api_url)
            after = _hits(port)
        totals = first["summary"]["totals"]
        window = first["summary"]["backfill"]
        print(
            f"collect of the same pages from {len(newsroom.outlets)} feeds: "
            f"{live['wall_s']:.2f} s, stored {live['summary']['totals']['new']}"
        )
        print(
            f"backfill of March (31 days): {first['wall_s']:.2f} s, "
            f"{args.pages / first['wall_s']:.1f} pages/s, stored {totals['new']}, failed "
            f"{totals['failed']}, pages fetched {_pages(middle, before)}, source-days done "
            f"{window['done_now']}"
        )
        print(
            f"ratio backfill / baseline: {first['wall_s'] / baseline:.2f}; "
            f"backfill / collect: {first['wall_s'] / live['wall_s']:.2f}"
        )
        print(
            f"backfill again: {again['wall_s']:.2f} s = {again['wall_s'] / first['wall_s']:.3f} "
            f"of the first, pages fetched again: {_pages(after, middle)} (target 0), "
            f"already done: {again['summary']['backfill']['already_done']}"
        )
        print(
            f"peak RSS, backfill process tree: {first['peak_rss_mb']:.0f} MB "
            f"(main process {first['peak_main_rss_mb']:.0f} MB)"
        )
    finally:
        server.terminate()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
