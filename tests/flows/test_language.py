"""Comment language: other languages are recognised, English comments (even short, odd ones) stay English."""

from __future__ import annotations

import pytest

from bench.language_accuracy import OTHER
from bench.sentiment_data import datasets
from flows.language import ENGLISH, language_of


@pytest.mark.parametrize(("language", "text"), OTHER)
def test_other_languages_are_recognised(language: str, text: str) -> None:
    assert language_of(text) == language


@pytest.mark.parametrize("text", ["", "ok", "Thanks so much!", "Easy!", "@JetBlue thanks so much!", "9",
                                  "engineer no-show again", "10/10 would recommend 😍"])
def test_short_english_is_english(text: str) -> None:
    assert language_of(text) == ENGLISH


def test_english_comments_are_almost_never_called_another_language() -> None:
    """On 14,068 labelled English texts, at most one in a thousand is taken for another language."""
    texts = [row.text for dataset in datasets() for row in dataset.rows]
    other = [text for text in texts if language_of(text) != ENGLISH]
    assert len(other) <= len(texts) // 1000
