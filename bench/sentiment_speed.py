"""Tagging throughput in one process: plain TextBlob, VADER and our tagger on the same comments.

    python -m bench.sentiment_speed [--repeat 3]

Each tagger is warmed up once (lexicons loaded), then tags every labelled text of every dataset; the best
of `--repeat` passes is reported, with the ratio to plain TextBlob.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from textblob import TextBlob

from bench.sentiment_data import datasets
from flows.language import ENGLISH, language_of
from flows.learned import Example, train
from flows.sentiment import tag_sentiment
from flows.themes import tag_themes


def _contenders() -> dict[str, Callable[[str], object]]:
    found: dict[str, Callable[[str], object]] = {"TextBlob": lambda text: TextBlob(text).sentiment}
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        pass
    else:
        found["VADER"] = SentimentIntensityAnalyzer().polarity_scores
    found["Touchpoint sentiment"] = tag_sentiment
    found["Touchpoint sentiment + themes"] = lambda text: (tag_sentiment(text), tag_themes(text))
    # A deployment's learned layer, as big as the labelled sets make it (all of their tuning rows).
    model = train(Example(row.text, row.label) for dataset in datasets() for row in dataset.split("tune"))
    assert model is not None
    found["Touchpoint learned sentiment"] = model.tag
    found["Touchpoint learned sentiment + themes"] = lambda text: (model.tag(text), tag_themes(text))
    # What a stored answer gets (bot.tagging): the language first, then the tags of an English comment.
    found["Touchpoint language + learned sentiment + themes"] = lambda text: (
        (model.tag(text), tag_themes(text)) if language_of(text) == ENGLISH else None)
    return found


def _best_rate(tag: Callable[[str], object], texts: list[str], repeat: int) -> float:
    tag(texts[0])
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for text in texts:
            tag(text)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    texts = [row.text for dataset in datasets() for row in dataset.rows]
    print(f"{len(texts)} comments, mean {sum(map(len, texts)) / len(texts):.0f} characters, best of {args.repeat}")
    print("| tagger | comments/s | vs TextBlob |\n|---|---:|---:|")
    baseline = None
    for name, tag in _contenders().items():
        rate = _best_rate(tag, texts, args.repeat)
        baseline = baseline or rate
        print(f"| {name} | {rate:,.0f} | {rate / baseline:.2f}x |")


if __name__ == "__main__":
    main()
