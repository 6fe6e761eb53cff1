"""SMS text stays in GSM-7 when typography is all that stands in the way, and segments are counted right."""

from __future__ import annotations

import pytest

from flows.gsm7 import count, is_gsm7, segments, to_gsm7


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("GSM-7", 0, 1)),
        ("Hi {}!", ("GSM-7", 8, 1)),  # braces are escaped: two septets each
        ("a" * 159 + "€", ("GSM-7", 161, 2)),
        ("a" * 158 + "€", ("GSM-7", 160, 1)),
        # 152 + € (2) does not fit 153: the escape moves whole to the second segment, then a third is needed
        ("a" * 152 + "€" + "a" * 152, ("GSM-7", 306, 3)),
        ("a" * 152 + "€" + "a" * 151, ("GSM-7", 305, 2)),
        ("Ça va? 😀", ("UCS-2", 9, 1)),
        ("ж" * 66 + "😀" + "ж" * 66, ("UCS-2", 134, 3)),  # the surrogate pair is not cut either
        ("ж" * 67 + "ж" * 67, ("UCS-2", 134, 2)),
        ("ü" * 160, ("GSM-7", 160, 1)),  # in the basic table
        ("û" * 10, ("UCS-2", 10, 1)),  # not in it
    ],
)
def test_count_gives_encoding_length_and_segments(text: str, expected: tuple[str, int, int]) -> None:
    found = count(text)
    assert (found.encoding, found.units, found.segments) == expected


def test_a_split_message_holds_153_or_67_per_segment() -> None:
    assert count("a" * 161).per_segment == 153 and count("a" * 160).per_segment == 160
    assert count("ж" * 71).per_segment == 67 and count("ж").per_segment == 70
