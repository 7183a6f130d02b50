"""Validate the dedupe/clustering labelled set (dev.yaml + holdout.yaml).

Run:  python tests/data/dedupe/check.py            (exit 1 on any error)
      python tests/data/dedupe/check.py --json     (machine-readable counts)

Prints COUNTS ONLY for the holdout split; it never prints holdout text, titles
or story names, so it is safe to run while keeping the holdout unseen.
The loading helpers (`load_split`, `kind_of`) may be reused by tests/benchmarks.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
SPLITS = {"dev": ("dev.yaml", "d"), "holdout": ("holdout.yaml", "h")}
LANGS = ("ko", "en", "zh")
FIELDS = (
    "id",
    "lang",
    "source",
    "url",
    "published",
    "fetched",
    "title",
    "text",
    "story",
    "copy_of",
)
MIN_ARTICLES = {"dev": 45, "holdout": 35}
MIN_TOTAL = 80
MIN_STORIES = 12
TARGET_SHARE = {"ko": 0.40, "en": 0.35, "zh": 0.25}
SHARE_TOLERANCE = 0.10
DATE_MIN = datetime.fromisoformat("2024-01-01T00:00:00+00:00")
DATE_MAX = datetime.fromisoformat("2025-04-30T23:59:59+00:00")

Article = dict[str, Any]


def load_split(name: str) -> list[Article]:
    fname, _ = SPLITS[name]
    with open(HERE / fname, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    articles: list[Article] = doc["articles"]
    return articles


def paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def size(article: Article) -> int:
    """English: words; Korean/Chinese: characters excluding whitespace."""
    if article["lang"] == "en":
        return len(article["text"].split())
    return len(re.sub(r"\s", "", article["text"]))


def shingles(text: str, n: int = 5) -> set[str]:
    s = re.sub(r"\s+", " ", text.strip().lower())
    return {s[i : i + n] for i in range(max(1, len(s) - n + 1))}


def jaccard(a: str, b: str) -> float:
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y)


def kind_of(article: Article, by_id: Article) -> str:
    """'original', 'exact' (identical text to its original) or 'near' (edited copy)."""
    if not article.get("copy_of"):
        return "original"
    orig = by_id[article["copy_of"]]
    return "exact" if article["text"].strip() == orig["text"].strip() else "near"


def check_split(
    name: str, arts: list[Article], errors: list[str]
) -> tuple[dict[str, Any], set[str], set[str], set[str]]:
    _, prefix = SPLITS[name]

    def err(msg: str) -> None:
        errors.append(f"[{name}] {msg}")

    by_id = {}
    for i, a in enumerate(arts):
        aid = a.get("id", f"#{i}")
        missing = [k for k in FIELDS if k not in a]
        if missing:
            err(f"{aid}: missing fields {missing}")
            continue
        if not re.fullmatch(prefix + r"\d{3}", str(a["id"])):
            err(f"{aid}: id must look like {prefix}###")
        if a["lang"] not in LANGS:
            err(f"{aid}: bad lang {a['lang']!r}")
        if not re.fullmatch(r"[a-z0-9-]+", str(a["source"])):
            err(f"{aid}: source must be a slug")
        if not re.fullmatch(r"https://[a-z0-9.-]+\.example/\S*", str(a["url"])):
            err(f"{aid}: url must be https on a fictional .example domain")
        for k in ("title", "text", "story"):
            if not isinstance(a[k], str) or not a[k].strip():
                err(f"{aid}: empty {k}")
        try:
            pub = datetime.fromisoformat(a["published"])
            fet = datetime.fromisoformat(a["fetched"])
            if pub.tzinfo is None or fet.tzinfo is None:
                err(f"{aid}: timestamps need an offset")
            elif fet < pub:
                err(f"{aid}: fetched before published")
            elif not (DATE_MIN <= pub <= DATE_MAX):
                err(f"{aid}: published outside 2024-01..2025-04")
            a["_pub"], a["_fet"] = pub, fet
        except (TypeError, ValueError) as e:
            err(f"{aid}: bad timestamp ({e})")
        npar = len(paragraphs(a["text"]))
        if not 3 <= npar <= 6:
            err(f"{aid}: {npar} paragraphs (want 3-6)")
        n = size(a)
        lo, hi = (120, 400) if a["lang"] == "en" else (250, 800)
        if not lo <= n <= hi:
            err(f"{aid}: size {n} outside {lo}-{hi} ({'words' if a['lang'] == 'en' else 'chars'})")
        by_id[a["id"]] = a

    # copy_of rules
    early_fetched = 0
    for a in by_id.values():
        c = a["copy_of"]
        if c is None:
            continue
        o = by_id.get(c)
        if o is None:
            err(f"{a['id']}: copy_of {c} not in this split")
            continue
        if o["copy_of"] is not None:
            err(f"{a['id']}: copy_of must name the original, but {c} is itself a copy")
        if o["lang"] != a["lang"]:
            err(f"{a['id']}: copy in a different language than {c}")
        if o["story"] != a["story"]:
            err(f"{a['id']}: copy has a different story than {c}")
        if "_pub" in a and "_pub" in o:
            if not o["_pub"] < a["_pub"]:
                err(f"{a['id']}: original {c} is not published earlier")
            if a["_fet"] < o["_fet"]:
                early_fetched += 1
        if a["url"] == o["url"]:
            err(f"{a['id']}: copy has the same url as {c}")
        sim = jaccard(a["text"], o["text"])
        if sim < 0.6:
            err(f"{a['id']}: labelled copy of {c} but text similarity only {sim:.2f}")

    # non-copies must not look like copies (guards against missed labels)
    groups = defaultdict(list)
    for a in by_id.values():
        groups[a["lang"]].append(a)

    def root(a: Article) -> str:
        return str(a["copy_of"] or a["id"])

    for lang_arts in groups.values():
        for i, a in enumerate(lang_arts):
            for b in lang_arts[i + 1 :]:
                if root(a) != root(b) and jaccard(a["text"], b["text"]) > 0.35:
                    err(f"{a['id']}/{b['id']}: unlabelled near-duplicate texts")

    stories = defaultdict(list)
    for a in by_id.values():
        stories[a["story"]].append(a)
    langs = Counter(a["lang"] for a in by_id.values())
    kinds = Counter(kind_of(a, by_id) for a in by_id.values())
    stats: dict[str, Any] = {
        "articles": len(by_id),
        "languages": {lang: langs.get(lang, 0) for lang in LANGS},
        "stories": len(stories),
        "multi_language_stories": sum(
            1 for v in stories.values() if len({a["lang"] for a in v}) >= 2
        ),
        "singleton_stories": sum(1 for v in stories.values() if len(v) == 1),
        "near_copies": kinds["near"],
        "exact_duplicates": kinds["exact"],
        "copies_fetched_before_original": early_fetched,
        "outlets": len({a["source"] for a in by_id.values()}),
    }
    if stats["articles"] < MIN_ARTICLES[name]:
        err(f"only {stats['articles']} articles (want >= {MIN_ARTICLES[name]})")
    if stats["stories"] < MIN_STORIES:
        err(f"only {stats['stories']} stories (want >= {MIN_STORIES})")
    for lang in LANGS:
        share = langs.get(lang, 0) / max(1, len(by_id))
        if langs.get(lang, 0) == 0 or abs(share - TARGET_SHARE[lang]) > SHARE_TOLERANCE:
            err(f"language {lang} share {share:.0%} too far from {TARGET_SHARE[lang]:.0%}")
    minimums = (
        ("near_copies", 4),
        ("exact_duplicates", 1),
        ("copies_fetched_before_original", 1),
        ("singleton_stories", 3),
        ("multi_language_stories", 3),
    )
    for key, minimum in minimums:
        if stats[key] < minimum:
            err(f"{key} = {stats[key]} (want >= {minimum})")
    ids = {a["id"] for a in by_id.values()}
    urls = {a["url"] for a in by_id.values()}
    return stats, set(stories), ids, urls


def main(argv: list[str]) -> int:
    errors: list[str] = []
    results, story_sets, id_sets, url_sets = {}, {}, {}, {}
    for name in SPLITS:
        arts = load_split(name)
        ids = [a.get("id") for a in arts]
        urls = [a.get("url") for a in arts]
        for dup in [k for k, v in Counter(ids).items() if v > 1]:
            errors.append(f"[{name}] duplicate id {dup}")
        for dup in [k for k, v in Counter(urls).items() if v > 1]:
            errors.append(f"[{name}] duplicate url {dup}")
        stats, stories, ids_seen, urls_seen = check_split(name, arts, errors)
        results[name], story_sets[name] = stats, stories
        id_sets[name], url_sets[name] = ids_seen, urls_seen
    if id_sets["dev"] & id_sets["holdout"]:
        errors.append("ids shared between splits")
    if url_sets["dev"] & url_sets["holdout"]:
        errors.append("urls shared between splits")
    if story_sets["dev"] & story_sets["holdout"]:
        crossing = len(story_sets["dev"] & story_sets["holdout"])
        errors.append(f"{crossing} story label(s) cross splits")
    total = sum(r["articles"] for r in results.values())
    if total < MIN_TOTAL:
        errors.append(f"only {total} articles in total (want >= {MIN_TOTAL})")

    if "--json" in argv:
        print(json.dumps({"splits": results, "total": total, "errors": errors}, indent=2))
    else:
        for name, r in results.items():
            print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in r.items()))
        print(f"total articles: {total}")
        for e in errors:
            print("ERROR", e)
        print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
