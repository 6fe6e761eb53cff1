from __future__ import annotations

from datetime import timedelta

import pytest

from flows.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0s", timedelta(0)),
        ("45s", timedelta(seconds=45)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("3d", timedelta(days=3)),
        (" 10s ", timedelta(seconds=10)),
    ],
)
def test_it_parses_a_number_and_one_unit(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2", "h", "2 hours", "1h30m", "-1h", "1.5h", "2H", "2w"])
def test_it_rejects_anything_else_with_a_hint(text: str) -> None:
    with pytest.raises(ValueError, match="such as 30m, 2h or 3d"):
        parse_duration(text)


def test_it_rejects_a_bare_number_from_yaml() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(10)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=90), "90s"),
        (timedelta(minutes=120), "2h"),
        (timedelta(hours=24), "1d"),
        (timedelta(hours=36), "36h"),
        (timedelta(days=30), "30d"),
    ],
)
def test_it_formats_with_the_largest_exact_unit(value: timedelta, expected: str) -> None:
    assert format_duration(value) == expected
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize("value", [timedelta(seconds=-1), timedelta(milliseconds=1500)])
def test_it_refuses_to_format_what_cannot_be_written(value: timedelta) -> None:
    with pytest.raises(ValueError):
        format_duration(value)
