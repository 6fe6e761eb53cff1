"""Theme assignment against the annotators' reasons for negative airline tweets.

    python -m bench.theme_accuracy [--split held|tune|all] [--taxonomy bench/airline_themes.yaml]

The taxonomy (`bench/airline_themes.yaml`) was written from the tuning rows only, a few words per reason, the way
an admin writes one; the held-apart rows are the figure to quote. A comment may get several themes: a reason is
found (true positive) when it is among them, each other theme given is a false positive for that theme, and a
reason not given is a false negative. "Can't Tell" (the annotator found no reason) is right when no theme is
given; it is reported on its own and left out of the macro-F1 over the nine reasons.
"""

from __future__ import annotations

import argparse
import csv
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.runtime import load_taxonomy
from flows.themes import ThemeTagger
from tests.data import DATA

REASONS_FILE = DATA / "themes" / "airline_reasons_dev.csv"
TAXONOMY = Path(__file__).with_name("airline_themes.yaml")
NO_REASON = "Can't Tell"


@dataclass(frozen=True)
class Reasoned:
    id: str
    text: str
    reason: str


def rows(split: str) -> list[Reasoned]:
    """The same split as the sentiment sets: a third of the ids, by hash, held apart."""
    with open(REASONS_FILE, encoding="utf-8", newline="") as handle:
        found = [Reasoned(r["id"], r["text"], r["reason"]) for r in csv.DictReader(handle)]
    if split == "all":
        return found
    return [r for r in found if (zlib.crc32(r.id.encode()) % 3 == 0) == (split == "held")]


@dataclass(frozen=True)
class Scores:
    per_reason: dict[str, tuple[float, float, float, int]]  # precision, recall, F1, support
    macro_f1: float
    no_reason_right: float  # share of "Can't Tell" rows given no theme
    covered: float  # share of rows with a reason that got at least one theme


def evaluate(data: list[Reasoned], tagger: Callable[[str], list[str]]) -> Scores:
    reasons = sorted({r.reason for r in data} - {NO_REASON})
    tp = dict.fromkeys(reasons, 0)
    fp = dict.fromkeys(reasons, 0)
    fn = dict.fromkeys(reasons, 0)
    no_reason = no_reason_right = covered = reasoned = 0
    for row in data:
        given = set(tagger(row.text))
        if row.reason == NO_REASON:
            no_reason += 1
            no_reason_right += not given
        else:
            reasoned += 1
            covered += bool(given)
            if row.reason in given:
                tp[row.reason] += 1
            else:
                fn[row.reason] += 1
        for theme in given - {row.reason}:
            if theme in fp:
                fp[theme] += 1
    per_reason = {}
    for reason in reasons:
        precision = tp[reason] / (tp[reason] + fp[reason]) if tp[reason] + fp[reason] else 0.0
        recall = tp[reason] / (tp[reason] + fn[reason]) if tp[reason] + fn[reason] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_reason[reason] = (precision, recall, f1, tp[reason] + fn[reason])
    macro = sum(v[2] for v in per_reason.values()) / len(per_reason)
    return Scores(per_reason, macro, no_reason_right / (no_reason or 1), covered / (reasoned or 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("held", "tune", "all"), default="held")
    parser.add_argument("--taxonomy", type=Path, default=TAXONOMY)
    args = parser.parse_args()
    data = rows(args.split)
    scores = evaluate(data, ThemeTagger(load_taxonomy(str(args.taxonomy))))
    print(f"split: {args.split}, {len(data)} negative tweets, taxonomy {args.taxonomy.name}")
    print("| reason | rows | precision | recall | F1 |\n|---|---:|---:|---:|---:|")
    for reason, (precision, recall, f1, support) in sorted(scores.per_reason.items(), key=lambda kv: -kv[1][3]):
        print(f"| {reason} | {support} | {precision:.3f} | {recall:.3f} | {f1:.3f} |")
    print(f"| **macro-F1 (9 reasons)** | | | | **{scores.macro_f1:.3f}** |")
    print(f"\nCan't Tell given no theme: {scores.no_reason_right:.3f}; rows with a reason given any theme: "
          f"{scores.covered:.3f}")
    common = max(scores.per_reason, key=lambda reason: scores.per_reason[reason][3])
    floor = evaluate(data, lambda _text: [common])
    print(f"Baseline in the same run, every tweet given the most common reason ({common}): macro-F1 "
          f"{floor.macro_f1:.3f}")


if __name__ == "__main__":
    main()
