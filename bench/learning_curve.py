"""How the learned layer gains as a deployment's answers and corrections arrive, against the fixed taggers.

    python -m bench.learning_curve [--corrected 0.05] [--svg docs/learning_curve.svg]

Each labelled set is streamed in arrival order (the airline tweets by tweet id, which grows with time; the NPS
verbatims and reviews in file order). At each checkpoint the model is trained on what a deployment would know
by then, and measured on every row still to come (never on a row it has seen):

- NPS verbatims: every earlier answer's score band is its label (that is all the truth there is), plus a
  share of them marked as an agent's correction (weighted more);
- airline and reviews have no score: an agent corrects `--corrected` of the earlier comments with their true
  label, and the model learns from those alone.

A model is used only when it beat the lexicon on the newest fifth of what it learned from (as in the worker);
otherwise the lexicon tags. The lexicon tagger, plain TextBlob and VADER are measured on the same rows to come.
The SVG is written by this script (no plotting library).
"""

from __future__ import annotations

import argparse
import zlib
from dataclasses import dataclass
from pathlib import Path

from bench.sentiment_accuracy import macro_f1
from bench.sentiment_data import Dataset, Row, datasets
from bench.taggers import taggers
from flows.learned import CORRECTION_WEIGHT, Example, train_checked

CHECKPOINTS = (100, 200, 400, 800, 1200, 1600, 3200, 6400)
MIN_TO_COME = 200


@dataclass(frozen=True)
class Point:
    seen: int
    corrections: int
    accuracy: float
    f1: float


@dataclass
class Curve:
    dataset: str
    learned: list[Point]
    baselines: dict[str, list[Point]]
    more_corrected: list[Point]  # the same with a larger share corrected (the lighter line)


def arrival_order(dataset: Dataset) -> list[Row]:
    if dataset.name == "airline":
        return sorted(dataset.rows, key=lambda row: int(row.id))
    return list(dataset.rows)


def corrected(row: Row, share: float) -> bool:
    """A fixed, label-blind pick of the rows an agent corrects."""
    return zlib.crc32(b"correct:" + row.id.encode()) % 10_000 < share * 10_000


def _score(gold: list[str], predicted: list[str], labels: tuple[str, ...]) -> tuple[float, float]:
    accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)
    return accuracy, macro_f1(gold, predicted, labels)


def _learned(rows: list[Row], seen: int, share: float, banded: bool, labels: tuple[str, ...],
             lexicon: list[str]) -> Point:
    past, to_come = rows[:seen], rows[seen:]
    examples = []
    for row in past:
        if corrected(row, share):
            examples.append(Example(row.text, row.label, CORRECTION_WEIGHT))
        elif banded:
            examples.append(Example(row.text, row.label))
    model, _ = train_checked(examples)
    predicted = [model.tag(row.text).label if model else lexicon[seen + i] for i, row in enumerate(to_come)]
    corrections = sum(example.weight > 1 for example in examples)
    return Point(seen, corrections, *_score([row.label for row in to_come], predicted, labels))


def curve(dataset: Dataset, share: float, more: float) -> Curve:
    rows = arrival_order(dataset)
    banded = dataset.name.startswith("nps")
    fixed = {tagger.name: [tagger.tag(row.text, dataset.labels) for row in rows] for tagger in taggers()}
    result = Curve(dataset.name, [], {name: [] for name in fixed}, [])
    for seen in (n for n in CHECKPOINTS if len(rows) - n >= MIN_TO_COME):
        point = _learned(rows, seen, share, banded, dataset.labels, fixed["Touchpoint"])
        result.learned.append(point)
        result.more_corrected.append(_learned(rows, seen, more, banded, dataset.labels, fixed["Touchpoint"]))
        gold = [row.label for row in rows[seen:]]
        for name, labels in fixed.items():
            result.baselines[name].append(Point(seen, point.corrections, *_score(gold, labels[seen:], dataset.labels)))
    return result


COLOURS = {"learned": "#1b7837", "more": "#7fbf7b", "Touchpoint": "#2166ac", "TextBlob": "#b2182b", "VADER": "#e08214"}
NAMES = {"learned": "Touchpoint + learned", "Touchpoint": "Touchpoint lexicon"}


def svg(curves: list[Curve], share: float, more: float) -> str:
    """One panel per dataset: macro-F1 on the rows to come against answers seen (log scale)."""
    import math

    width, height, pad = 300, 260, 40
    panels = []
    for index, c in enumerate(curves):
        x0 = index * width
        xs = [p.seen for p in c.learned]
        lo, hi = math.log(min(xs)), math.log(max(xs))

        def px(seen: int, x0: int = x0, lo: float = lo, hi: float = hi) -> float:
            return x0 + pad + (math.log(seen) - lo) / ((hi - lo) or 1) * (width - 2 * pad)

        def py(value: float) -> float:
            return height - pad - (value - 0.3) / 0.6 * (height - 2 * pad)

        parts = [f'<text x="{x0 + width / 2}" y="18" text-anchor="middle" font-size="13">{c.dataset}</text>']
        for tick in (0.3, 0.5, 0.7, 0.9):
            parts.append(f'<line x1="{x0 + pad}" x2="{x0 + width - pad}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" '
                         'stroke="#ddd"/>')
            parts.append(f'<text x="{x0 + pad - 4}" y="{py(tick) + 4:.1f}" text-anchor="end" font-size="10">'
                         f'{tick:.1f}</text>')
        for point in c.learned:
            parts.append(f'<text x="{px(point.seen):.1f}" y="{height - pad + 14}" text-anchor="middle" '
                         f'font-size="9">{point.seen}</text>')
            if c.dataset.startswith("nps") is False:
                parts.append(f'<text x="{px(point.seen):.1f}" y="{height - pad + 25}" text-anchor="middle" '
                             f'font-size="8" fill="#555">{point.corrections}c</text>')
        series = {"more": c.more_corrected, "learned": c.learned, **c.baselines}
        for name, points in series.items():
            path = " ".join(f"{px(p.seen):.1f},{py(p.f1):.1f}" for p in points)
            dash = "" if name in ("learned", "more") else ' stroke-dasharray="4 3"'
            parts.append(f'<polyline points="{path}" fill="none" stroke="{COLOURS.get(name, "#666")}" '
                         f'stroke-width="2"{dash}/>')
        panels.append("\n".join(parts))
    legend = []
    names = {**NAMES, "learned": f"learned, {share:.0%} corrected", "more": f"learned, {more:.0%} corrected"}
    for i, name in enumerate(("learned", "more", "Touchpoint", "TextBlob", "VADER")):
        x = 20 + i * 180
        legend.append(f'<line x1="{x}" x2="{x + 24}" y1="{height + 22}" y2="{height + 22}" stroke="{COLOURS[name]}" '
                      f'stroke-width="2"/><text x="{x + 30}" y="{height + 26}" font-size="11">{names.get(name, name)}'
                      '</text>')
    caption = (f"macro-F1 on the rows still to come, by answers seen (log scale); airline and reviews learn only "
               f"from corrections (count at {share:.0%} under the axis); NPS from every band, plus corrections")
    total_w = width * len(curves)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{height + 60}" '
            f'font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n'
            + "\n".join(panels) + "\n" + "\n".join(legend)
            + f'\n<text x="20" y="{height + 50}" font-size="10" fill="#333">{caption}</text>\n</svg>\n')


def held_apart(dataset: Dataset) -> tuple[list[Row], list[Row]]:
    """What the regression tests keep: airline and reviews train on the tuning rows and are measured on the
    held-apart ones; the NPS verbatims train on the bands of the first 70% in arrival order and are measured on
    the later answers (a deployment never knows the band of an answer yet to come)."""
    if dataset.name.startswith("nps"):
        rows = arrival_order(dataset)
        cut = len(rows) * 7 // 10
        return rows[:cut], rows[cut:]
    return dataset.split("tune"), dataset.split("held")


def held_apart_table() -> None:
    print("\nTrained on every label of the training part, measured on rows it never saw: macro-F1 (accuracy)")
    print("| dataset | trained on | measured on | learned | lexicon | TextBlob | VADER |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for dataset in datasets():
        trained_on, measured = held_apart(dataset)
        model, _ = train_checked([Example(row.text, row.label) for row in trained_on])
        gold = [row.label for row in measured]
        cells = []
        if model is not None:
            cells.append(_score(gold, [model.tag(row.text).label for row in measured], dataset.labels))
        by_name = {tagger.name: tagger for tagger in taggers()}
        for name in ("Touchpoint", "TextBlob", "VADER"):
            if name in by_name:
                predicted = [by_name[name].tag(row.text, dataset.labels) for row in measured]
                cells.append(_score(gold, predicted, dataset.labels))
        shown = " | ".join(f"{f1:.3f} ({accuracy:.3f})" for accuracy, f1 in cells)
        print(f"| {dataset.name} | {len(trained_on)} | {len(measured)} | {shown} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corrected", type=float, default=0.05, help="share of answers an agent corrects")
    parser.add_argument("--more", type=float, default=0.25, help="a larger share, drawn as a second learned line")
    parser.add_argument("--svg", type=Path, default=None, help="write the plot here")
    args = parser.parse_args()
    curves = [curve(dataset, args.corrected, args.more) for dataset in datasets()]
    print(f"macro-F1 (accuracy) on the rows still to come; corrections: {args.corrected:.0%} and {args.more:.0%}")
    print("| dataset | answers seen | corrections | learned | corrections | learned | lexicon | TextBlob | VADER |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in curves:
        for i, point in enumerate(c.learned):
            more = c.more_corrected[i]
            cells = [f"{p.f1:.3f} ({p.accuracy:.3f})" for p in
                     [*(c.baselines[name][i] for name in ("Touchpoint", "TextBlob", "VADER") if name in c.baselines)]]
            print(f"| {c.dataset} | {point.seen} | {point.corrections} | {point.f1:.3f} ({point.accuracy:.3f}) | "
                  f"{more.corrections} | {more.f1:.3f} ({more.accuracy:.3f}) | " + " | ".join(cells) + " |")
    held_apart_table()
    if args.svg:
        args.svg.write_text(svg(curves, args.corrected, args.more), encoding="utf-8")
        print(f"wrote {args.svg}")


if __name__ == "__main__":
    main()
