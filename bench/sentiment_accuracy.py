"""Accuracy and macro-F1 of plain TextBlob, VADER (if installed) and our tagger on the same labelled rows.

    python bench/sentiment_accuracy.py [--split held|tune|all]

Three-label sets use each tagger's own neutral band (TextBlob: polarity 0; VADER: compound within 0.05;
ours: flows.sentiment.label_for). The two-label review set uses the sign of the polarity for every tagger
alike, and a text with no opinion at all (polarity 0) counts as wrong.
"""

from __future__ import annotations

import argparse

from bench.sentiment_data import Dataset, datasets
from bench.taggers import Tagger, taggers


def macro_f1(gold: list[str], predicted: list[str], labels: tuple[str, ...]) -> float:
    scores = []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=False) if g == p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=False) if p == label != g)
        fn = sum(1 for g, p in zip(gold, predicted, strict=False) if g == label != p)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores)


def evaluate(dataset: Dataset, split: str, tagger: Tagger) -> tuple[int, float, float]:
    rows = dataset.rows if split == "all" else dataset.split(split)
    gold = [row.label for row in rows]
    predicted = [tagger.tag(row.text, dataset.labels) for row in rows]
    accuracy = sum(g == p for g, p in zip(gold, predicted, strict=False)) / len(rows)
    return len(rows), accuracy, macro_f1(gold, predicted, dataset.labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("held", "tune", "all"), default="held")
    args = parser.parse_args()
    print(f"split: {args.split}")
    print("| dataset | rows | tagger | accuracy | macro-F1 |\n|---|---:|---|---:|---:|")
    for dataset in datasets():
        for tagger in taggers():
            rows, accuracy, f1 = evaluate(dataset, args.split, tagger)
            print(f"| {dataset.name} | {rows} | {tagger.name} | {accuracy:.3f} | {f1:.3f} |")


if __name__ == "__main__":
    main()
