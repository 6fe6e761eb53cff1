"""The learned sentiment layer: what it keeps, and the figures it reaches on rows it never trained on."""

from __future__ import annotations

import pytest

from bench.learning_curve import held_apart
from bench.sentiment_accuracy import macro_f1
from bench.sentiment_data import datasets
from flows.learned import MAX_FEATURES, MIN_EXAMPLES, Example, SentimentModel, features, train, train_checked

# Reached on the held-apart rows (docs/performance.md); a change that loses ground fails here.
FLOORS = {"airline": 0.75, "reviews": 0.85, "nps verbatims (band as label)": 0.665}


def test_too_few_or_one_sided_examples_train_nothing() -> None:
    assert train([Example("slow again", "negative")] * (MIN_EXAMPLES - 1)) is None
    assert train([Example("slow again", "negative")] * MIN_EXAMPLES * 2) is None


def test_a_model_that_cannot_beat_the_lexicon_is_not_made() -> None:
    """Comments the lexicon already reads right: nothing to gain, so no model replaces it."""
    examples = [Example("awful, useless", "negative"), Example("great, thank you", "positive")] * 60
    model, reason = train_checked(examples)
    assert model is None and reason.startswith("no better than the lexicon on the newest 30")
    learnable = [Example("engineer no-show", "negative"), Example("engineer came", "positive")] * 60
    model, reason = train_checked(learnable)
    assert model is not None and model.tag("engineer no-show").label == "negative"


def test_a_stored_model_tags_as_the_trained_one() -> None:
    examples = [Example("engineer no-show again", "negative")] * 40 + [Example("engineer was great", "positive")] * 40
    model = train(examples + [Example("order 123456 from jane", "negative")])
    assert model is not None
    again = SentimentModel.loads(model.dumps())
    for text in ("engineer no-show", "engineer was great", "", "an engineer"):
        assert again.tag(text) == model.tag(text)
    assert model.tag("engineer no-show").label == "negative"
    assert "123456" not in model.logp and "jane" not in model.logp  # seen once: personal, not kept


def test_links_and_mentions_are_not_features() -> None:
    assert features("@sam see https://example.com/x ok") == ["see", "ok", "see ok"]


@pytest.mark.parametrize("dataset", datasets(), ids=lambda d: d.name)
def test_held_apart_figures_hold(dataset) -> None:  # type: ignore[no-untyped-def]
    """Split as bench.learning_curve.held_apart says (NPS in arrival order: no peeking at later bands)."""
    trained_on, measured = held_apart(dataset)
    model, _ = train_checked([Example(row.text, row.label) for row in trained_on])
    assert model is not None
    predicted = [model.tag(row.text).label for row in measured]
    assert macro_f1([row.label for row in measured], predicted, dataset.labels) >= FLOORS[dataset.name]


def test_a_model_of_every_tuning_row_stays_far_below_the_size_budget() -> None:
    """The issue's budget is 20 MB of model files; docs/performance.md: 131 KB stored for all 9,500 tuning rows."""
    model = train(Example(row.text, row.label) for dataset in datasets() for row in dataset.split("tune"))
    assert model is not None
    assert len(model.logp) <= MAX_FEATURES
    assert len(model.dumps()) < 1_000_000
