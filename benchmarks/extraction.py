"""Extraction benchmark: quality on a real-page corpus, and CPU cost on typical news pages.

    .venv/bin/python benchmarks/extraction.py --corpus ../shared/corpora/extraction

Section 1 (quality) scores ``pipeline.extract.extract_page`` on every page of the corpus and,
in the same run, the two baselines it must beat: ``trafilatura.extract`` on the raw bytes and
readability-lxml alone. A page's score is the mean of the share of its ``with`` snippets found
in the extracted text and the share of its ``without`` snippets absent, both compared after
NFKC and removal of all whitespace (the corpus README's definition).

Section 2 (speed) uses the generated newsroom of ``benchmarks/collect.py`` (~70 KB news pages
with menus, inline scripts, related stories, five or more paragraphs) and compares the CPU
time of ``extract_page`` with ``trafilatura.extract(html)``: the collect pipeline must not be
slower than bare trafilatura, so the ratio must stay at or under about 1.2.

The corpus is third-party data kept outside the project; nothing from it is copied here.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import sys
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import lxml.html
import trafilatura
from readability import Document as Readability

from benchmarks.generated import generate
from flows.newsroom import RenderOptions, article_path, render_site
from pipeline.decode import decode_html
from pipeline.errors import ExtractError, UnsupportedContentError
from pipeline.extract import extract_page
from pipeline.records import Page

NOW = datetime(2026, 1, 1, tzinfo=UTC)
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Case:
    """One corpus page with its expectations."""

    ident: str
    source: str
    url: str
    body: bytes
    with_: tuple[str, ...]
    without: tuple[str, ...]


def _squash(text: str) -> str:
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text))


def score(case: Case, text: str) -> float:
    """Mean of the share of ``with`` snippets found and of ``without`` snippets absent."""
    haystack = _squash(text)
    found = [_squash(s) in haystack for s in case.with_]
    absent = [_squash(s) not in haystack for s in case.without]
    with_share = sum(found) / len(found) if found else 1.0
    without_share = sum(absent) / len(absent) if absent else 1.0
    return (with_share + without_share) / 2


def load_corpus(root: Path) -> list[Case]:
    """Read the corpus expectations and page bytes."""
    cases = []
    for item in json.loads((root / "expectations.json").read_text(encoding="utf-8")):
        url = item.get("url") or f"https://{item.get('host') or 'corpus.invalid'}/{item['id']}"
        cases.append(
            Case(
                ident=item["id"],
                source=item["source"],
                url=url,
                body=(root / item["file"]).read_bytes(),
                with_=tuple(item.get("with") or ()),
                without=tuple(item.get("without") or ()),
            )
        )
    return cases


def _page(url: str, body: bytes, content_type: str = "text/html") -> Page:
    return Page(url, url, 200, (("Content-Type", content_type),), body, NOW)


class _Fallbacks(logging.Handler):
    """Counts extract_page's readability fallbacks from its debug log."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.tried = 0
        self.chosen = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("readability fallback"):
            self.tried += 1
            self.chosen += record.getMessage().endswith("chosen=True")


FALLBACKS = _Fallbacks()
REFUSED: list[str] = []


def run_pipeline(case: Case) -> str:
    """Our extractor; a refused page counts as an empty text."""
    try:
        return extract_page(_page(case.url, case.body), source=case.source, now=NOW).text
    except (ExtractError, UnsupportedContentError) as exc:
        REFUSED.append(f"{case.ident}: {exc}")
        return ""


def run_trafilatura_raw(case: Case) -> str:
    """Baseline: trafilatura defaults on the raw bytes (it guesses the charset itself)."""
    return trafilatura.extract(case.body, url=case.url) or ""


def run_readability(case: Case) -> str:
    """Baseline: readability-lxml alone on the raw bytes (it reads the declared charset)."""
    try:
        summary = Readability(case.body).summary(html_partial=True)
        fragment = lxml.html.fragment_fromstring(summary, create_parent="div")
    except Exception:  # any failure of the baseline is an empty extraction
        return ""
    for node in fragment.iter("p", "div", "br", "li", "h1", "h2", "h3", "h4", "tr"):
        node.tail = f"\n{node.tail or ''}"
    return str(fragment.text_content())


def measure(cases: Sequence[Case], extractor: Callable[[Case], str]) -> tuple[list[float], float]:
    """Per-page scores and total CPU seconds of one extractor over the corpus."""
    scores, cpu = [], 0.0
    for case in cases:
        start = time.process_time()
        text = extractor(case)
        cpu += time.process_time() - start
        scores.append(score(case, text))
    return scores, cpu


def quality_section(root: Path, verbose: bool) -> None:
    """Print scores per extractor and per corpus source."""
    cases = load_corpus(root)
    extractors: dict[str, Callable[[Case], str]] = {
        "newswatch extract_page": run_pipeline,
        "trafilatura.extract (raw bytes)": run_trafilatura_raw,
        "readability-lxml alone": run_readability,
    }
    logger = logging.getLogger("pipeline.extract")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(FALLBACKS)
    results = {name: measure(cases, fn) for name, fn in extractors.items()}
    logger.removeHandler(FALLBACKS)
    logger.setLevel(logging.NOTSET)
    sources = sorted({case.source for case in cases})
    print(f"== Quality: {len(cases)} pages of {root} ==")
    header = f"{'extractor':34s} {'score':>6s} {'pages/s':>8s}  " + " ".join(
        f"{s[:13]:>13s}" for s in sources
    )
    print(header)
    for name, (scores, cpu) in results.items():
        by_source: dict[str, list[float]] = defaultdict(list)
        for case, value in zip(cases, scores, strict=True):
            by_source[case.source].append(value)
        cells = " ".join(f"{statistics.fmean(by_source[s]):13.3f}" for s in sources)
        print(f"{name:34s} {statistics.fmean(scores):6.3f} {len(cases) / cpu:8.1f}  {cells}")
    print(
        f"extract_page: readability fallback tried on {FALLBACKS.tried} pages, kept on "
        f"{FALLBACKS.chosen}; {len(REFUSED)} pages refused {REFUSED}"
    )
    ours = statistics.fmean(results["newswatch extract_page"][0])
    for name in list(extractors)[1:]:
        print(f"ratio newswatch / {name}: {ours / statistics.fmean(results[name][0]):.3f}")
    if verbose:
        for index, case in enumerate(cases):
            row = " ".join(f"{results[name][0][index]:.2f}" for name in extractors)
            print(f"  {row}  {case.ident}")


def _cpu_per_page(work: Callable[[], object], pages: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best / pages * 1000


def speed_section(pages: int, repeats: int) -> None:
    """Print CPU ms per generated page for extract_page and trafilatura.extract."""
    # The same generated newsroom as benchmarks/collect.py (mostly English, some Korean/Chinese).
    newsroom = generate(pages)
    base_url = "http://news.example.com"
    routes = render_site(newsroom, base_url, RenderOptions(padding=10))
    records = [
        _page(
            base_url + article_path(story),
            routes[article_path(story)].body,
            routes[article_path(story)].content_type,
        )
        for story in newsroom.articles
    ]
    htmls = [decode_html(page.body, page.header("content-type"))[0] for page in records]
    sizes = [len(page.body) for page in records]
    print(
        f"\n== Speed: {pages} generated news pages, {statistics.fmean(sizes) / 1024:.0f} KB avg =="
    )

    def ours() -> None:
        for page in records:
            extract_page(page, source="bench", now=NOW)

    def bare() -> None:
        for html in htmls:
            trafilatura.extract(html)

    def bare_bytes() -> None:
        for page in records:
            trafilatura.extract(page.body)

    def with_metadata() -> None:
        for html in htmls:
            trafilatura.bare_extraction(html, with_metadata=True)

    def readability_only() -> None:
        for html in htmls:
            Readability(html).summary(html_partial=True)

    ours()  # warm-up: imports, stoplists, compiled XPaths
    timings = {
        "trafilatura.extract(html)": _cpu_per_page(bare, pages, repeats),
        "trafilatura.extract(bytes)": _cpu_per_page(bare_bytes, pages, repeats),
        "bare_extraction defaults + metadata": _cpu_per_page(with_metadata, pages, repeats),
        "readability-lxml summary": _cpu_per_page(readability_only, pages, repeats),
        "newswatch extract_page": _cpu_per_page(ours, pages, repeats),
    }
    base = timings["trafilatura.extract(html)"]
    for name, value in timings.items():
        print(f"{name:38s} {value:7.2f} ms/page  {value / base:5.2f}x")
    ratio = timings["newswatch extract_page"] / base
    print(f"extract_page / trafilatura.extract CPU ratio: {ratio:.2f} (budget 1.2)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run both sections."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="extraction corpus (expectations.json + html/)")
    parser.add_argument("--pages", type=int, default=30, help="generated pages for the speed run")
    parser.add_argument("--repeats", type=int, default=5, help="speed runs; the fastest is kept")
    parser.add_argument("--verbose", action="store_true", help="print every page's scores")
    parser.add_argument("--skip-quality", action="store_true", help="only the speed section")
    args = parser.parse_args(argv)
    # Third-party extractors log every discarded page; the scores say all that here.
    for noisy in ("trafilatura", "readability", "htmldate", "charset_normalizer"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    if not args.skip_quality:
        if args.corpus is None:
            parser.error("--corpus is required unless --skip-quality")
        quality_section(args.corpus, args.verbose)
    speed_section(args.pages, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
