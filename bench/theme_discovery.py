"""Theme discovery against the annotators' reasons: do the groups line up, and do accepted ones help?

    python -m bench.theme_discovery [--groups 12] [--min-size 10] [--words 6]

1. Alignment: the held-apart tweets that the written taxonomy (`bench/airline_themes.yaml`) gives no theme are
   grouped without their labels (`flows.discovery`); the adjusted mutual information between the groups and the
   reasons says how well they line up (0: chance, 1: the same partition). Also for every held-apart tweet.
2. Acceptance, simulated: groups are proposed from the tuning tweets no theme covers. An admin reads each one's
   typical words and examples; here the reason most of its tweets carry stands in for what the admin would see,
   and a group is accepted into that theme (its typical words added as keywords) only when at least
   `--agree` of its tweets share that reason, otherwise rejected. The labels name and choose; they never shape
   the groups. The written taxonomy and the taxonomy with the accepted groups are then scored on the held-apart
   tweets (`bench.theme_accuracy.evaluate`).
"""

from __future__ import annotations

import argparse
from collections import Counter

from bench.theme_accuracy import NO_REASON, TAXONOMY, Reasoned, evaluate, rows
from bot.runtime import load_taxonomy
from flows.discovery import adjusted_mutual_information, cluster, propose
from flows.themes import ThemeTagger


def alignment(data: list[Reasoned], groups: int) -> float:
    labels, _ = cluster([row.text for row in data], groups)
    kept = [(label, row.reason) for label, row in zip(labels, data, strict=True) if label >= 0]
    return adjusted_mutual_information([k for k, _ in kept], [r for _, r in kept])


def accepted(taxonomy: dict[str, list[str]], uncovered: list[Reasoned], args: argparse.Namespace
             ) -> tuple[dict[str, list[str]], list[str]]:
    grown = {theme: list(words) for theme, words in taxonomy.items()}
    log = []
    for proposal in propose([row.text for row in uncovered], groups=args.groups, min_size=args.min_size,
                            words=args.words):
        reason, count = Counter(uncovered[i].reason for i in proposal.members).most_common(1)[0]
        share = count / len(proposal.members)
        verdict = "accepted into " + reason if reason != NO_REASON and share >= args.agree else "rejected"
        if verdict != "rejected":
            grown[reason] = grown.get(reason, []) + [w for w in proposal.words if w not in grown.get(reason, [])]
        log.append(f"| {len(proposal.members)} | {', '.join(proposal.words)} | {reason} ({share:.0%}) | {verdict} |")
    return grown, log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=9)  # chosen on the tuning tweets (AMI)
    parser.add_argument("--min-size", type=int, default=10)
    parser.add_argument("--words", type=int, default=6)
    parser.add_argument("--agree", type=float, default=0.5)
    args = parser.parse_args()
    taxonomy = load_taxonomy(str(TAXONOMY))
    written = ThemeTagger(taxonomy)
    tune, held = rows("tune"), rows("held")
    held_uncovered = [row for row in held if not written(row.text)]
    print(f"AMI of {args.groups} groups with the reasons, held-apart tweets no theme covers "
          f"({len(held_uncovered)}): {alignment(held_uncovered, args.groups):.3f}")
    print(f"AMI of {args.groups} groups with the reasons, every held-apart tweet ({len(held)}): "
          f"{alignment(held, args.groups):.3f}")
    tune_uncovered = [row for row in tune if not written(row.text)]
    grown, log = accepted(taxonomy, tune_uncovered, args)
    print(f"\nProposed from the {len(tune_uncovered)} tuning tweets no theme covers:")
    print("| tweets | typical words | most common reason | simulated admin |\n|---:|---|---|---|")
    print("\n".join(log))
    before, after = evaluate(held, written), evaluate(held, ThemeTagger(grown))
    print("\nHeld apart, per reason precision / recall / F1: written -> with accepted discoveries")
    print("| reason | rows | written P | R | F1 | + discoveries P | R | F1 |\n|---|---:|---:|---:|---:|---:|---:|---:|")
    for reason, (p1, r1, f1, support) in sorted(before.per_reason.items(), key=lambda kv: -kv[1][3]):
        p2, r2, f2, _ = after.per_reason[reason]
        print(f"| {reason} | {support} | {p1:.3f} | {r1:.3f} | {f1:.3f} | {p2:.3f} | {r2:.3f} | {f2:.3f} |")
    print(f"| **macro-F1** | | | | **{before.macro_f1:.3f}** | | | **{after.macro_f1:.3f}** |")


if __name__ == "__main__":
    main()
