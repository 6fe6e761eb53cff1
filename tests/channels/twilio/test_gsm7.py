"""SMS text stays in GSM-7 when typography is all that stands in the way, and segments are counted right."""

from __future__ import annotations

import pytest

from channels.twilio.gsm7 import is_gsm7, segments, to_gsm7


def test_typographic_punctuation_is_made_plain() -> None:
    text = "We’d love your view… “How likely” – reply 0-10"
    plain = to_gsm7(text)
    assert plain == "We'd love your view... \"How likely\" - reply 0-10"
    assert is_gsm7(plain) and not is_gsm7(text)


@pytest.mark.parametrize("text", ["Merci ! 😀", "Как мы справились?", "评分 0-10"])
def test_text_that_needs_unicode_is_left_as_written(text: str) -> None:
    assert to_gsm7(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3), ("€" * 80, 1), ("€" * 81, 2),
     ("é" * 160, 1), ("😀" * 35, 1), ("😀" * 36, 2), ("ж" * 70, 1), ("ж" * 71, 2), ("ж" * 134, 2)],
)
def test_segments(text: str, expected: int) -> None:
    assert segments(text) == expected
