"""Could themes learned from agents' corrections reach what the written taxonomy does not? A simulation.

    python -m bench.theme_learned

Agents correct a share of the tuning tweets ("theme wrong", the right reason ticked; a "Can't Tell" tweet gets no
theme), chosen by a second hash of the id. A naive Bayes model over the words and word pairs the sentiment layer
uses (`flows.learned.features`), with the taxonomy's matches as heavier features, learns one reason or none from
them; it is scored on the held-apart tweets alone and together with the written taxonomy (its themes plus the
model's). Nothing of this is in the product: it measures whether building it is worth it. Baseline in the same
run: the written taxonomy (`bench/airline_themes.yaml`).
"""

from __future__ import annotations

import argparse
import math
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable

from bench.theme_accuracy import NO_REASON, TAXONOMY, Reasoned, evaluate, rows
from bot.runtime import load_taxonomy
from flows.learned import features
from flows.themes import ThemeTagger

SMOOTHING = 0.1
TAXONOMY_WEIGHT = 3  # as the lexicon's verdict in the sentiment layer: a feature counted more than a word


def learned(written: ThemeTagger, corrected: list[Reasoned]) -> Callable[[str], list[str]]:
    def weighted(text: str) -> dict[str, int]:
        found = dict.fromkeys(features(text), 1)
        found.update(dict.fromkeys((f"#theme:{t}" for t in written(text)), TAXONOMY_WEIGHT))
        return found

    counts: dict[str, Counter[str]] = defaultdict(Counter)
    priors = Counter(row.reason for row in corrected)
    for row in corrected:
        counts[row.reason].update(weighted(row.text))
    vocabulary = {f for c in counts.values() for f in c}
    totals = {reason: sum(c.values()) for reason, c in counts.items()}

    def tag(text: str) -> list[str]:
        found = {f: w for f, w in weighted(text).items() if f in vocabulary}
        scores = {reason: 0.5 * math.log(priors[reason]) + sum(
            w * math.log((counts[reason][f] + SMOOTHING) / (totals[reason] + SMOOTHING * len(vocabulary)))
            for f, w in found.items()) for reason in counts}
        best = max(scores, key=scores.__getitem__)
        return [] if best == NO_REASON else [best]

    return tag


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shares", default="0.05,0.25,1")
    args = parser.parse_args()
    written = ThemeTagger(load_taxonomy(str(TAXONOMY)))
    tune, held = rows("tune"), rows("held")
    print("| tagger | corrected tuning tweets | held-apart macro-F1 |\n|---|---:|---:|")
    print(f"| written taxonomy (baseline) | 0 | {evaluate(held, written).macro_f1:.3f} |")
    for share in map(float, args.shares.split(",")):
        corrected = [r for r in tune if zlib.crc32(("c" + r.id).encode()) % 1000 < share * 1000]
        model = learned(written, corrected)
        print(f"| learned alone | {len(corrected)} | {evaluate(held, model).macro_f1:.3f} |")
        both = evaluate(held, lambda text, m=model: list(dict.fromkeys(written(text) + m(text))))  # type: ignore[misc]
        print(f"| written taxonomy + learned | {len(corrected)} | {both.macro_f1:.3f} |")


if __name__ == "__main__":
    main()
