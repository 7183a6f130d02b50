"""Deduplication and story benchmark.

Quality (default): stores the labelled set of ``tests/data/dedupe`` in a fresh SQLite database,
in fetch order and in six-hour runs, clusters it, and prints pairwise precision and recall for
copies and for stories, per split (``dev`` is the one tuned on; ``holdout`` never is).
Targets on the holdout: copies P >= 0.99, R >= 0.95; stories P >= 0.90, R >= 0.80.

Scale (``--scale``): streams generated articles (default 100,000) through storage and
clustering into SQLite, in chunks, and prints the clustering cost per article for the first
and the last 10,000 (target: last <= 1.3 x first) and the peak RSS (target <= 400 MB).

    .venv/bin/python benchmarks/dedupe.py
    .venv/bin/python benchmarks/dedupe.py --scale --articles 100000
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.labelled import evaluate, load, store_and_cluster  # noqa: E402
from pipeline.cluster import cluster_pending  # noqa: E402
from pipeline.entities import load_entities  # noqa: E402
from pipeline.extract import fingerprint  # noqa: E402
from pipeline.records import Article, Entry, PageOutcome, Source  # noqa: E402
from pipeline.settings import SEEDS_DIR  # noqa: E402
from pipeline.store.database import open_database  # noqa: E402
from pipeline.store.entries import register_entries, save_outcomes  # noqa: E402
from pipeline.store.runs import start_run  # noqa: E402
from pipeline.store.sources import sync_sources  # noqa: E402


def quality(splits: list[str]) -> None:
    """Print pairwise scores per split."""
    entities = load_entities(SEEDS_DIR / "entities.yaml")
    for split in splits:
        articles = load(split)
        with tempfile.TemporaryDirectory() as folder:
            db = open_database(f"sqlite:///{folder}/labelled.db", upgrade=True)
            try:
                ids = store_and_cluster(db, articles, entities)
                result = evaluate(db, articles, ids)
            finally:
                db.dispose()
        copies, stories = result["copies"], result["stories"]
        right, total = result["originals_right"]
        print(
            f"[{split}] {len(articles)} articles, "
            f"{len({a.story for a in articles})} labelled stories"
        )
        print(
            f"[{split}] copies  pairwise precision {copies.precision:.3f} recall "
            f"{copies.recall:.3f} (predicted {copies.predicted} pairs, labelled "
            f"{copies.expected}); duplicate_of names the labelled original for {right}/{total}"
        )
        print(
            f"[{split}] stories pairwise precision {stories.precision:.3f} recall "
            f"{stories.recall:.3f} (predicted {stories.predicted} pairs, labelled "
            f"{stories.expected})"
        )


# --------------------------------------------------------------------------- scale

_COMPANIES = [
    "DeepSeek",
    "Baidu",
    "Alibaba",
    "Tencent",
    "ByteDance",
    "OpenAI",
    "Nvidia",
    "Meituan",
    "Moonshot AI",
    "Zhipu AI",
    "Huawei",
    "Naver",
    "Kakao",
    "SoftBank",
]


def _vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 10))) for _ in range(size)]


def _article(rng: random.Random, words: list[str]) -> tuple[str, str]:
    company = rng.choice(_COMPANIES)
    title = f"{company} " + " ".join(rng.choice(words) for _ in range(8))
    paragraphs = [
        " ".join(rng.choice(words) for _ in range(rng.randint(40, 80)))
        for _ in range(rng.randint(4, 7))
    ]
    paragraphs[0] = (
        f"{company} said on Tuesday that {paragraphs[0]} ${rng.randint(1, 900)} billion."
    )
    return title, "\n".join(paragraphs)


def _copy(rng: random.Random, title: str, text: str) -> tuple[str, str]:
    paragraphs = text.split("\n")
    if len(paragraphs) > 3:
        paragraphs.pop(rng.randrange(1, len(paragraphs)))
    return "Wire: " + title, "(Wire) " + "\n".join(paragraphs)


def scale(total: int, chunk: int) -> None:
    """Stream generated articles through storage and clustering; print costs and memory."""
    rng = random.Random(42)
    words = _vocabulary(rng)
    entities = load_entities(SEEDS_DIR / "entities.yaml")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    sources = [Source(f"outlet-{i}", f"https://outlet-{i}.example/feed") for i in range(50)]
    recent: list[tuple[str, str]] = []
    costs: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        db = open_database(f"sqlite:///{folder}/scale.db", upgrade=True)
        ids = {k: v.id for k, v in sync_sources(db, sources, start).items()}
        made = 0
        while made < total:
            size = min(chunk, total - made)
            now = start + timedelta(minutes=10 * (made + size))
            run = start_run(db, now)
            entries, outcomes = [], []
            for n in range(made, made + size):
                if recent and rng.random() < 0.1:
                    title, text = _copy(rng, *rng.choice(recent))
                else:
                    title, text = _article(rng, words)
                    recent = [*recent, (title, text)][-500:]
                source = sources[n % len(sources)].name
                url = f"https://{source}.example/news/{n}"
                when = start + timedelta(minutes=10 * n)
                entry = Entry(source, url, url, title, published_at=when, lang="en")
                entries.append(entry)
                outcomes.append(
                    PageOutcome(
                        entry,
                        article=Article(
                            url=url,
                            final_url=url,
                            canonical_url=url,
                            source=source,
                            title=title,
                            text=text,
                            lang="en",
                            published_at=when,
                            fetched_at=when,
                            fingerprint=fingerprint(text),
                        ),
                    )
                )
            register_entries(db, entries, ids, now)
            save_outcomes(db, outcomes, ids, run, 3, now)
            began = time.perf_counter()
            cluster_pending(db, entities, now)
            costs.append((time.perf_counter() - began) / size)
            made += size
            if made % 10_000 == 0:
                print(
                    f"  {made:>7} articles clustered, {costs[-1] * 1000:.2f} ms/article "
                    f"in the last chunk",
                    flush=True,
                )
        db.dispose()
    per_window = max(1, 10_000 // chunk)
    first = sum(costs[:per_window]) / len(costs[:per_window])
    last = sum(costs[-per_window:]) / len(costs[-per_window:])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"clustering cost per article: first 10,000 {first * 1000:.2f} ms, last 10,000 "
        f"{last * 1000:.2f} ms, ratio {last / first:.2f} (target <= 1.3)"
    )
    print(f"peak RSS {peak:.0f} MB (target <= 400 MB)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("dev", "holdout", "both"), default="both")
    parser.add_argument("--scale", action="store_true", help="run the scale benchmark instead")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=1000)
    args = parser.parse_args()
    if args.scale:
        scale(args.articles, args.chunk)
    else:
        quality(["dev", "holdout"] if args.split == "both" else [args.split])
    return 0


if __name__ == "__main__":
    sys.exit(main())
