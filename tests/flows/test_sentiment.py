"""Comment sentiment: what customers write about service is read the way a support person would read it."""

from __future__ import annotations

import pytest

from bench.sentiment_accuracy import evaluate
from bench.sentiment_data import datasets
from bench.taggers import taggers
from flows.sentiment import Sentiment, mismatch, tag_sentiment


@pytest.mark.parametrize(
    "comment",
    [
        "still waiting for someone to call me back",
        "no one called back after three days",
        "the engineer never turned up",
        "my flight was cancelled and nobody told me",
        "kept on hold for an hour, useless",
        "Thanks for keeping me on hold for an hour!",
        "it doesn't work and the app keeps crashing 😡",
        "sux",
    ],
)
def test_complaints_are_negative(comment: str) -> None:
    assert tag_sentiment(comment).label == "negative"


@pytest.mark.parametrize(
    "comment",
    ["quick and friendly", "Great service, thank you!", "10/10 😍", "the agent went above and beyond", "love it :)"],
)
def test_praise_is_positive(comment: str) -> None:
    result = tag_sentiment(comment)
    assert result.label == "positive" and result.polarity > 0


@pytest.mark.parametrize("comment", ["I ordered on Tuesday", "", "   ", None, "12345"])
def test_comments_without_opinion_are_neutral(comment: str | None) -> None:
    assert tag_sentiment(comment) == Sentiment("neutral", 0.0)


@pytest.mark.parametrize(
    "comment",
    [
        "I ordered on Tuesday, see http://example.com/orders/123",
        "details at https://shop.example.com/a:/b",
        "I ordered on Tuesday, write to jane.doe@example.com",
        "I ordered on Tuesday, ask @sam_from_support",
        "I ordered on Tuesday <@U0123ABC>",
    ],
)
def test_links_addresses_and_mentions_carry_no_sentiment(comment: str) -> None:
    assert tag_sentiment(comment) == Sentiment("neutral", 0.0)


def test_a_link_does_not_hide_the_comments_own_emoticon() -> None:
    assert tag_sentiment("I ordered on Tuesday :/ http://example.com").label == "negative"
    assert tag_sentiment("great, see www.example.com/terrible-awful").label == "positive"


def test_negation_turns_praise_into_complaint() -> None:
    assert tag_sentiment("the staff were helpful").label == "positive"
    assert tag_sentiment("the staff were not helpful").label == "negative"
    assert tag_sentiment("the staff weren't helpful").label == "negative"


@pytest.mark.parametrize(
    "comment",
    [
        "😀" * 2000, "\ufffd broken \ufffd", "x" * 5000, "très bien, merci 🙏", "不错", "a\x00b", "word " * 1000,
        "!!!???",
    ],
)
def test_any_text_is_tagged_without_error(comment: str) -> None:
    result = tag_sentiment(comment)
    assert result.label in {"positive", "neutral", "negative"} and -1.0 <= result.polarity <= 1.0


def test_mismatch_flags_an_angry_promoter_and_a_delighted_detractor() -> None:
    angry, happy, flat = tag_sentiment("terrible, rude staff"), tag_sentiment("wonderful people"), tag_sentiment("ok")
    assert mismatch("promoter", angry) and mismatch("detractor", happy)
    assert not mismatch("promoter", happy) and not mismatch("detractor", angry)
    assert not mismatch("passive", angry) and not mismatch(None, angry) and not mismatch("promoter", flat)


@pytest.mark.parametrize(("dataset", "bar"), [("airline", 0.60), ("reviews", 0.80)])
def test_held_apart_rows_clear_the_accuracy_bar_and_beat_plain_textblob(dataset: str, bar: float) -> None:
    [rows] = [d for d in datasets() if d.name == dataset]
    scores = {tagger.name: evaluate(rows, "held", tagger)[2] for tagger in taggers()}
    assert scores["Touchpoint"] >= bar
    assert scores["Touchpoint"] > scores["TextBlob"] + 0.05


@pytest.mark.parametrize("text", ["not very good", "really not good at all", "good!!!", "xd haha", "<3 it",
                                  "not a good one", "very not good", "i didn't like it, not bad though :(",
                                  "definitely nothing good", "8-) cool"])
def test_the_plain_dict_reads_the_lexicon_as_textblob_does(text: str) -> None:
    """The fast path must find the same opinions as TextBlob's own `assessments` on the same words."""
    from flows.sentiment import _assessments, _lexicon, _words

    words = _words(text)
    expected = [score for _chunk, score, _s, _x in _lexicon().assessments([(w, None) for w in words])]
    assert _assessments(words) == pytest.approx(expected)
