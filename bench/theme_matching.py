"""Ways of matching the written airline taxonomy, against the annotators' reasons: which one should tag?

    python -m bench.theme_matching [--taxonomy bench/airline_themes.yaml]

Each variant reads the same written taxonomy (`bench/airline_themes.yaml`); only the matching changes. The tagger
as shipped (`flows.themes.ThemeTagger`: every theme with a keyword in the comment) is the baseline, in the same
run. The choice is made on the tuning rows; the held-apart column is printed beside it so the figures can be
quoted, not to choose by. The last line uses the labels to pick, among the themes a comment matched, the reason
if it is one of them: no tie-break rule can do better, so it bounds what choosing one theme can gain.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path

from bench.theme_accuracy import TAXONOMY, Reasoned, evaluate, rows
from bot.runtime import load_taxonomy
from flows.themes import ThemeTagger

_WORD = re.compile(r"\w+")
NEGATIONS = frozenset({"no", "not", "never", "without", "t", "dont", "didnt", "wasnt", "isnt", "cant", "wont"})
SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "ed", "es", "s", "ly")


def word_form(word: str) -> str:
    """A light stemmer: "delays", "delayed", "delaying" -> "delay"; "bags" -> "bag"; "cancelled" -> "cancel"."""
    for suffix in SUFFIXES:
        if len(word) - len(suffix) >= 3 and word.endswith(suffix):
            word = word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
            break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "ls":
        word = word[:-1]
    return word


class Matcher:
    """The taxonomy's keywords matched word by word, counting hits per theme, with the variant's rules."""

    def __init__(self, taxonomy: dict[str, list[str]], *, forms: bool = False, negation: bool = False,
                 gap: int = 0) -> None:
        self.forms, self.negation, self.gap = forms, negation, gap
        self.themes: list[tuple[str, list[tuple[tuple[str, ...], bool]]]] = []
        for theme, keywords in taxonomy.items():
            entries = []
            for keyword in keywords:
                words = tuple(_WORD.findall(keyword.lower()))
                star = keyword.strip().endswith("*")
                if forms and not star:
                    words = tuple(map(word_form, words))
                entries.append((words, star))
            self.themes.append((theme, entries))

    def hits(self, text: str) -> dict[str, tuple[int, int]]:
        """theme -> (keywords found, position of the first one)."""
        words = _WORD.findall(text.lower())
        forms = [word_form(w) for w in words] if self.forms else words
        found: dict[str, tuple[int, int]] = {}
        for theme, entries in self.themes:
            count, first = 0, len(words)
            for keyword, star in entries:
                size = len(keyword)

                def fits(at: int, j: int, keyword: tuple[str, ...] = keyword, star: bool = star,
                         size: int = size) -> bool:
                    if star and j == size - 1:
                        return words[at].startswith(keyword[j])
                    return forms[at] == keyword[j] or words[at] == keyword[j]

                for i in range(len(words)):
                    at, j = i, 0
                    while j < size and at < len(words) and fits(at, j):
                        j += 1
                        if j < size:  # the next word of the keyword, up to `gap` other words further on
                            at = next((k for k in range(at + 1, min(len(words), at + 2 + self.gap)) if fits(k, j)),
                                      len(words))
                    if j < size:
                        continue
                    if self.negation and keyword[0] != "one" and (
                            (i > 0 and words[i - 1] in NEGATIONS) or (i > 1 and words[i - 2] in NEGATIONS)):
                        continue
                    count, first = count + 1, min(first, i)
                    break
            if count:
                found[theme] = (count, first)
        return found


def variants(taxonomy: dict[str, list[str]], data: list[Reasoned]) -> dict[str, Callable[[str], list[str]]]:
    shipped = ThemeTagger(taxonomy)
    plain, forms, negation = Matcher(taxonomy), Matcher(taxonomy, forms=True), Matcher(taxonomy, negation=True)
    window = Matcher(taxonomy, gap=2)
    order = list(taxonomy)
    reason = {row.text: row.reason for row in data}

    def most_hits(text: str) -> list[str]:
        found = plain.hits(text)
        return [min(found, key=lambda t: (-found[t][0], order.index(t)))] if found else []

    def first_named(text: str) -> list[str]:
        found = plain.hits(text)
        return [min(found, key=lambda t: (found[t][1], order.index(t)))] if found else []

    def most_hits_or_all_tied(text: str) -> list[str]:
        found = plain.hits(text)
        best = max((n for n, _ in found.values()), default=0)
        return [t for t in order if t in found and found[t][0] == best]

    def perfect_choice(text: str) -> list[str]:
        given = shipped(text)
        return [reason[text]] if reason[text] in given else given[:1]

    return {
        "as shipped: every theme with a keyword (baseline)": shipped,
        "word forms normalised (delays, delayed -> delay)": lambda text: list(forms.hits(text)),
        "negated keywords ignored (no, not, never, n't before)": lambda text: list(negation.hits(text)),
        "phrases with up to 2 other words between their words": lambda text: list(window.hits(text)),
        "themes with the most keywords only (ties kept)": most_hits_or_all_tied,
        "one theme: the most keywords, ties to the taxonomy's order": most_hits,
        "one theme: the first named in the comment": first_named,
        "one theme, chosen with the labels (upper bound of any tie-break)": perfect_choice,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taxonomy", type=Path, default=TAXONOMY)
    args = parser.parse_args()
    taxonomy = load_taxonomy(str(args.taxonomy))
    tune, held = rows("tune"), rows("held")
    on_tune, on_held = variants(taxonomy, tune), variants(taxonomy, held)
    print(f"taxonomy {args.taxonomy.name}; macro-F1 over the 9 reasons (Can't Tell given no theme)")
    print("| matching | tuning rows | held apart |\n|---|---:|---:|")
    for name in on_tune:
        a, b = evaluate(tune, on_tune[name]), evaluate(held, on_held[name])
        print(f"| {name} | {a.macro_f1:.3f} ({a.no_reason_right:.2f}) | {b.macro_f1:.3f} ({b.no_reason_right:.2f}) |")


if __name__ == "__main__":
    main()
