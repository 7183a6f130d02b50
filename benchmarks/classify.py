"""Classification benchmark on the labelled set of ``tests/data/topics``.

Prints, per split, per-label precision/recall/F1, micro-F1, the exact-match ratio (all three
labels right), relevance ROC-AUC, and speed: articles/s of topics + entities + amounts on one
core, and with relevance. ``dev`` is the split the cue lists and weights were tuned on;
``holdout`` never was. Targets: micro-F1 >= 0.90, each label F1 >= 0.85, AUC >= 0.95,
>= 200 articles/s per core.

    .venv/bin/python benchmarks/classify.py
    .venv/bin/python benchmarks/classify.py --split dev --errors
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.classify import Classifier  # noqa: E402
from pipeline.settings import SEEDS_DIR  # noqa: E402

DATA = ROOT / "tests" / "data" / "topics"
LABELS = ("model_launch", "pricing", "investment")


@dataclass(frozen=True, slots=True)
class Item:
    """One labelled article."""

    id: str
    lang: str
    title: str
    text: str
    topics: frozenset[str]
    relevant: bool
    kind: str


def load(split: str) -> list[Item]:
    """The articles of a split."""
    data: dict[str, Any] = yaml.safe_load((DATA / f"{split}.yaml").read_text(encoding="utf-8"))
    return [
        Item(
            a["id"],
            a["lang"],
            a["title"],
            a["text"],
            frozenset(a["topics"]),
            bool(a["relevant"]),
            a["kind"],
        )
        for a in data["articles"]
    ]


def auc(scores: list[float], truth: list[bool]) -> float:
    """ROC-AUC: the chance that a relevant article outscores an irrelevant one (ties: half)."""
    positives = [s for s, t in zip(scores, truth, strict=True) if t]
    negatives = [s for s, t in zip(scores, truth, strict=True) if not t]
    if not positives or not negatives:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def evaluate(items: list[Item], classifier: Classifier) -> dict[str, Any]:
    """Scores of the classifier on the items."""
    predicted = [classifier.classify(i.title, i.text, i.lang) for i in items]
    per_label: dict[str, dict[str, float]] = {}
    tp_all = fp_all = fn_all = 0
    for label in LABELS:
        tp = sum(
            1
            for i, p in zip(items, predicted, strict=True)
            if label in i.topics and label in {t.name for t in p.topics}
        )
        fp = sum(
            1
            for i, p in zip(items, predicted, strict=True)
            if label not in i.topics and label in {t.name for t in p.topics}
        )
        fn = sum(
            1
            for i, p in zip(items, predicted, strict=True)
            if label in i.topics and label not in {t.name for t in p.topics}
        )
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
    micro_p = tp_all / (tp_all + fp_all) if tp_all + fp_all else 1.0
    micro_r = tp_all / (tp_all + fn_all) if tp_all + fn_all else 1.0
    micro = 2 * micro_p * micro_r / (micro_p + micro_r) if micro_p + micro_r else 0.0
    exact = sum(
        1 for i, p in zip(items, predicted, strict=True) if i.topics == {t.name for t in p.topics}
    ) / len(items)
    relevance = auc([p.relevance for p in predicted], [i.relevant for i in items])
    errors = [
        (i, sorted(t.name for t in p.topics), p.relevance)
        for i, p in zip(items, predicted, strict=True)
        if i.topics != {t.name for t in p.topics}
    ]
    return {
        "labels": per_label,
        "micro_f1": micro,
        "exact": exact,
        "auc": relevance,
        "errors": errors,
        "predicted": predicted,
    }


def speed(items: list[Item], classifier: Classifier, rounds: int = 5) -> tuple[float, float]:
    """Articles/s on one core: topics + entities + amounts, and the whole classification."""
    started = time.process_time()
    for _ in range(rounds):
        for item in items:
            classifier.entities.find(f"{item.title}\n{item.text}")
            classifier.topics_of(item.title, item.text)
    core = rounds * len(items) / (time.process_time() - started)
    started = time.process_time()
    for _ in range(rounds):
        for item in items:
            classifier.classify(item.title, item.text, item.lang)
    full = rounds * len(items) / (time.process_time() - started)
    return core, full


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("dev", "holdout", "both"), default="both")
    parser.add_argument("--errors", action="store_true", help="list misclassified articles")
    args = parser.parse_args()
    classifier = Classifier.from_seeds(SEEDS_DIR)
    for split in ("dev", "holdout") if args.split == "both" else (args.split,):
        items = load(split)
        result = evaluate(items, classifier)
        print(f"[{split}] {len(items)} articles")
        for label, scores in result["labels"].items():
            print(
                f"[{split}] {label:13s} precision {scores['precision']:.3f} recall "
                f"{scores['recall']:.3f} F1 {scores['f1']:.3f} (support {scores['support']})"
            )
        print(
            f"[{split}] micro-F1 {result['micro_f1']:.3f}, exact match {result['exact']:.3f}, "
            f"relevance ROC-AUC {result['auc']:.3f}"
        )
        core, full = speed(items, classifier)
        print(
            f"[{split}] speed, one core: {core:.0f} articles/s topics+entities+amounts, "
            f"{full:.0f} articles/s with relevance and unknown names"
        )
        if args.errors:
            for item, got, score in result["errors"]:
                print(
                    f"   {item.id} {item.lang} [{item.kind}] want {sorted(item.topics)} got "
                    f"{got} rel={score:.2f}/{item.relevant}: {item.title[:70]}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
