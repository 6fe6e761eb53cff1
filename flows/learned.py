"""A learned sentiment layer over the lexicon: multinomial naive Bayes on a deployment's own comments.

The lexicon knows how people talk about service in general; it cannot know that "the app logs me out" or
"engineer no-show" is a complaint at one company. Every answered survey is a comment with a score, and the
score band is a (noisy) label; an agent's correction is a sure one and weighs more. Naive Bayes learns from a
few hundred such rows, trains in a fraction of a second, predicts with a few dictionary look-ups per word and
serializes to a small JSON document, so it needs nothing beyond the standard library. The lexicon's own verdict
is one of the features, so the model starts from it and learns where this deployment's customers differ.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from flows.sentiment import NEGATIVE, NEUTRAL, POSITIVE, Sentiment, clean, sentiment_of, tag_sentiment

LABELS = (POSITIVE, NEUTRAL, NEGATIVE)
BAND_LABELS = {"detractor": NEGATIVE, "passive": NEUTRAL, "promoter": POSITIVE}
CORRECTION_WEIGHT = 5.0
# The lexicon's verdict counts as this many words: with little data it decides, with more the words do.
LEXICON_WEIGHT = 2.0
MIN_EXAMPLES = 50
# Before a model replaces the lexicon it is checked on the newest share of what it learns from.
CHECK_SHARE = 0.2
MIN_CHECK = 30
MAX_FEATURES = 60_000
MIN_COUNT = 2
ALPHA = 0.1
# Label shares of noisy band labels say more about who answers than about a comment: priors count half.
PRIOR_SHRINK = 0.5
# The lexicon's polarity in steps of 1/POLARITY_BINS is a feature too (0: only its label).
POLARITY_BINS = 4
FORMAT = 1

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?]|[\U0001F300-\U0001FAFF\u2600-\u27BF]")


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    weight: float = 1.0


def features(text: str) -> list[str]:
    """Words and word pairs; links, addresses and mentions dropped (they name, they do not judge)."""
    return features_of(clean(text))


def features_of(lowered: str) -> list[str]:
    words = _WORD.findall(lowered)
    return words + [a + " " + b for a, b in zip(words, words[1:], strict=False)]


def _lexicon_features(sentiment: Sentiment) -> list[str]:
    """The lexicon's label, and how strong its polarity is (a review's "quite nice" is a neutral-band 0.15)."""
    found = [f"__lexicon:{sentiment.label}"]
    if POLARITY_BINS:
        found.append(f"__polarity:{round(sentiment.polarity * POLARITY_BINS)}")
    return found


class SentimentModel:
    """Log-probabilities per feature and label, ready to sum; built by `train`, stored with `dumps`."""

    def __init__(self, priors: dict[str, float], logp: Mapping[str, Sequence[float]], examples: int,
                 corrections: int) -> None:
        self.labels = tuple(priors)
        self.priors = [priors[label] for label in self.labels]
        # Tuples of floats: the garbage collector stops tracking them, so a big model costs it nothing.
        self.logp = {feature: tuple(row) for feature, row in logp.items()}
        self._lexicon_rows = {feature: tuple(LEXICON_WEIGHT * value for value in row)
                              for feature, row in self.logp.items() if feature.startswith("__")}
        self.examples = examples
        self.corrections = corrections

    def scores(self, lowered: str, lexicon: Sentiment) -> list[float]:
        """Features the model never kept are skipped: they say nothing about this deployment."""
        rows = [row for row in map(self.logp.get, features_of(lowered)) if row is not None]
        for feature in _lexicon_features(lexicon):
            lexicon_row = self._lexicon_rows.get(feature)
            if lexicon_row is not None:
                rows.append(lexicon_row)
        if not rows:
            return list(self.priors)
        return [prior + sum(column) for prior, column in zip(self.priors, zip(*rows, strict=True), strict=True)]

    def tag(self, text: str | None) -> Sentiment:
        """The lexicon's polarity is kept (it is a degree, for reports); the label is the model's."""
        if not text or not text.strip():
            return tag_sentiment(text)
        lowered = clean(text)
        lexicon = sentiment_of(lowered)
        totals = self.scores(lowered, lexicon)
        best = max(range(len(totals)), key=totals.__getitem__)
        return Sentiment(self.labels[best], lexicon.polarity)

    def dumps(self) -> bytes:
        document = {"format": FORMAT, "labels": list(self.labels), "priors": self.priors,
                    "examples": self.examples, "corrections": self.corrections,
                    "logp": {f: [round(v, 4) for v in row] for f, row in self.logp.items()}}
        return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 9)

    @classmethod
    def loads(cls, data: bytes) -> SentimentModel:
        document = json.loads(zlib.decompress(data))
        if document.get("format") != FORMAT:
            raise ValueError(f"unknown model format {document.get('format')!r}")
        labels = document["labels"]
        return cls(dict(zip(labels, document["priors"], strict=True)), document["logp"], document["examples"],
                   document["corrections"])


def train(examples: Iterable[Example]) -> SentimentModel | None:
    """None when there are too few examples (or only one label) to beat the lexicon alone."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    weights: Counter[str] = Counter()
    seen = corrections = 0
    for example in examples:
        if example.label not in LABELS or not example.text.strip():
            continue
        seen += 1
        corrections += example.weight > 1.0
        weights[example.label] += example.weight
        bag = counts[example.label]
        for feature in features(example.text):
            bag[feature] += example.weight
        for feature in _lexicon_features(tag_sentiment(example.text)):
            bag[feature] += example.weight
    if seen < MIN_EXAMPLES or len(weights) < 2:
        return None
    labels = [label for label in LABELS if weights[label]]
    everywhere: Counter[str] = Counter()
    for label in labels:
        everywhere.update(counts[label])
    # A word one comment used once (a name, an order number) is not kept: it teaches nothing and is personal.
    kept = [feature for feature, count in everywhere.most_common(MAX_FEATURES) if count >= MIN_COUNT]
    vocabulary = len(kept)
    totals = {label: sum(counts[label][f] for f in kept) for label in labels}
    denominators = {label: math.log(totals[label] + ALPHA * vocabulary) for label in labels}
    logp = {f: [math.log(counts[label][f] + ALPHA) - denominators[label] for label in labels] for f in kept}
    grand = sum(weights.values())
    priors = {label: PRIOR_SHRINK * math.log(weights[label] / grand) for label in labels}
    return SentimentModel(priors, logp, seen, corrections)


def band_example(text: str, band: str | None) -> Example | None:
    label = BAND_LABELS.get(band or "")
    return Example(text, label) if label else None


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    scores = []
    for label in sorted(set(gold)):
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p == label)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if p == label != g)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label != p)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def train_checked(examples: list[Example]) -> tuple[SentimentModel | None, str]:
    """A model only if it would have beaten the lexicon on the newest examples it did not train on.

    Trained on the older part, checked on the newest CHECK_SHARE (examples come oldest first), then retrained on
    all of them; with too little data, or a deployment the lexicon already reads well, the lexicon stays."""
    usable = [e for e in examples if e.label in LABELS and e.text.strip()]
    cut = len(usable) - max(MIN_CHECK, int(len(usable) * CHECK_SHARE))
    older, newest = usable[:cut], usable[cut:]
    trial = train(older) if cut > 0 else None
    if trial is None:
        return None, "too few comments with a score band or a correction"
    gold = [e.label for e in newest]
    learned = macro_f1(gold, [trial.tag(e.text).label for e in newest])
    lexicon = macro_f1(gold, [tag_sentiment(e.text).label for e in newest])
    if learned <= lexicon:
        return None, f"no better than the lexicon on the newest {len(newest)} (macro-F1 {learned:.3f} vs {lexicon:.3f})"
    return train(usable), f"macro-F1 {learned:.3f} vs the lexicon's {lexicon:.3f} on the newest {len(newest)}"
