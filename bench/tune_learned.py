"""Choosing the learned layer's settings on the training part only, by validation inside it.

    python -m bench.tune_learned [--quick]

Each set's training part (as `bench.learning_curve.held_apart` splits it: airline and reviews their tuning rows,
NPS the first 70% in arrival order) is cut again: airline and reviews in two folds by a second hash of the id,
NPS into its older 70% and newer 30%. Every combination is trained on one side and scored on the other; the
held-apart rows are never read. The mean macro-F1 over the sets picks the settings in `flows/learned.py`.
"""

from __future__ import annotations

import argparse
import itertools
import zlib

import flows.learned as learned
from bench.learning_curve import held_apart
from bench.sentiment_accuracy import macro_f1
from bench.sentiment_data import Dataset, Row, datasets
from flows.learned import Example

GRID = {
    "ALPHA": (0.1, 0.3, 0.6),
    "LEXICON_WEIGHT": (2.0, 3.0, 5.0),
    "POLARITY_BINS": (0, 4, 10),
    "PRIOR_SHRINK": (0.5, 1.0),
}


def folds(dataset: Dataset) -> list[tuple[list[Row], list[Row]]]:
    part, _held = held_apart(dataset)
    if dataset.name.startswith("nps"):
        cut = len(part) * 7 // 10
        return [(part[:cut], part[cut:])]
    side = [zlib.crc32(b"fold:" + row.id.encode()) % 2 for row in part]
    a = [row for row, s in zip(part, side, strict=True) if s == 0]
    b = [row for row, s in zip(part, side, strict=True) if s == 1]
    return [(a, b), (b, a)]


def score(dataset: Dataset, splits: list[tuple[list[Row], list[Row]]]) -> float:
    found = []
    for trained_on, measured in splits:
        model = learned.train(Example(row.text, row.label) for row in trained_on)
        assert model is not None
        predicted = [model.tag(row.text).label for row in measured]
        found.append(macro_f1([row.label for row in measured], predicted, dataset.labels))
    return sum(found) / len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    sets = [(dataset, folds(dataset)) for dataset in datasets()]
    names = list(GRID)
    print("| " + " | ".join(names) + " | " + " | ".join(d.name for d, _ in sets) + " | mean |")
    print("|" + "---|" * (len(names) + len(sets) + 1))
    results = []
    for values in itertools.product(*GRID.values()):
        for name, value in zip(names, values, strict=True):
            setattr(learned, name, value)
        figures = [score(dataset, splits) for dataset, splits in sets]
        mean = sum(figures) / len(figures)
        results.append((mean, values))
        print("| " + " | ".join(map(str, values)) + " | " + " | ".join(f"{f:.3f}" for f in figures)
              + f" | {mean:.3f} |", flush=True)
    best = max(results)
    print("best:", dict(zip(names, best[1], strict=True)), f"mean {best[0]:.3f}")


if __name__ == "__main__":
    main()
