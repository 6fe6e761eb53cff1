"""The taggers compared by the sentiment benches: each gives a polarity and its own three-way label."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textblob import TextBlob

from flows.sentiment import label_for, polarity


@dataclass(frozen=True)
class Tagger:
    name: str
    polarity: Callable[[str], float]
    label: Callable[[float], str]

    def tag(self, text: str, labels: tuple[str, ...]) -> str:
        """Three-way label, or on a two-label dataset the sign of the polarity (no opinion is wrong)."""
        value = self.polarity(text)
        if "neutral" not in labels:
            return "positive" if value > 0 else "negative" if value < 0 else "neutral"
        return self.label(value)


def _sign(margin: float) -> Callable[[float], str]:
    return lambda value: "positive" if value > margin else "negative" if value < -margin else "neutral"


def taggers() -> list[Tagger]:
    found = [Tagger("TextBlob", lambda text: TextBlob(text).sentiment.polarity, _sign(0.0))]
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        pass
    else:
        vader = SentimentIntensityAnalyzer()
        found.append(Tagger("VADER", lambda text: vader.polarity_scores(text)["compound"], _sign(0.05)))
    found.append(Tagger("Touchpoint", polarity, label_for))
    return found
