from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from flows.schedule import next_allowed_send, parse_quiet_hours, valid_timezone


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_a_window_is_parsed_including_one_past_midnight() -> None:
    assert parse_quiet_hours("21:00-08:00") == (time(21, 0), time(8, 0))
    assert parse_quiet_hours(" 9:30 - 17:45 ") == (time(9, 30), time(17, 45))


@pytest.mark.parametrize("text", ["21:00", "9pm-8am", "21:00-24:00", "08:60-09:00", "08:00-08:00", ""])
def test_a_bad_window_is_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_quiet_hours(text)


def test_without_quiet_hours_the_time_is_unchanged() -> None:
    at = utc(2024, 6, 1, 23, 30)

    assert next_allowed_send(at, None, "Europe/London") is at


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2024, 1, 15, 12, 0), utc(2024, 1, 15, 12, 0)),
        (utc(2024, 1, 15, 20, 59), utc(2024, 1, 15, 20, 59)),
        (utc(2024, 1, 15, 21, 0), utc(2024, 1, 16, 8, 0)),
        (utc(2024, 1, 15, 23, 30), utc(2024, 1, 16, 8, 0)),
        (utc(2024, 1, 16, 3, 0), utc(2024, 1, 16, 8, 0)),
        (utc(2024, 1, 16, 8, 0), utc(2024, 1, 16, 8, 0)),
    ],
)
def test_a_window_past_midnight_holds_sends_until_its_end(at: datetime, expected: datetime) -> None:
    assert next_allowed_send(at, "21:00-08:00", "UTC") == expected


def test_a_same_day_window_holds_sends_until_its_end() -> None:
    assert next_allowed_send(utc(2024, 1, 15, 12, 30), "12:00-13:00", "UTC") == utc(2024, 1, 15, 13, 0)
    assert next_allowed_send(utc(2024, 1, 15, 13, 0), "12:00-13:00", "UTC") == utc(2024, 1, 15, 13, 0)


def test_the_window_is_in_the_contacts_time_zone() -> None:
    # 03:00 UTC is 22:00 the evening before in New York (EST, UTC-5): wait for 08:00 there, 13:00 UTC.
    assert next_allowed_send(utc(2024, 1, 16, 3, 0), "21:00-08:00", "America/New_York") == utc(2024, 1, 16, 13, 0)
    # 23:00 UTC is 18:00 in New York: outside the window, sent at once.
    assert next_allowed_send(utc(2024, 1, 15, 23, 0), "21:00-08:00", "America/New_York") == utc(2024, 1, 15, 23, 0)


def test_summer_time_moves_the_end_in_utc() -> None:
    # In July New York is UTC-4, so 08:00 there is 12:00 UTC.
    assert next_allowed_send(utc(2024, 7, 16, 3, 0), "21:00-08:00", "America/New_York") == utc(2024, 7, 16, 12, 0)


def test_a_night_across_the_spring_forward_change_ends_at_local_morning() -> None:
    # 2024-03-10: New York jumps from 02:00 EST to 03:00 EDT. 23:00 EST on the 9th is 04:00 UTC on the 10th.
    assert next_allowed_send(utc(2024, 3, 10, 4, 0), "21:00-08:00", "America/New_York") == utc(2024, 3, 10, 12, 0)


def test_a_window_ending_in_the_skipped_hour_ends_just_after_the_gap() -> None:
    # 01:30 EST (06:30 UTC) is inside 01:00-02:30; 02:30 does not exist that night, 03:30 EDT does.
    resume = next_allowed_send(utc(2024, 3, 10, 6, 30), "01:00-02:30", "America/New_York")

    assert resume == utc(2024, 3, 10, 7, 30)


def test_a_window_ending_in_the_repeated_hour_ends_at_its_first_occurrence() -> None:
    # 2024-11-03: New York repeats 01:00-02:00. 00:30 EDT is 04:30 UTC; 01:30 EDT (the first) is 05:30 UTC.
    assert next_allowed_send(utc(2024, 11, 3, 4, 30), "00:00-01:30", "America/New_York") == utc(2024, 11, 3, 5, 30)


def test_an_unknown_zone_falls_back_to_utc() -> None:
    assert next_allowed_send(utc(2024, 1, 15, 22, 0), "21:00-08:00", "Mars/Olympus") == utc(2024, 1, 16, 8, 0)


def test_a_naive_time_is_read_as_utc_and_stays_naive() -> None:
    assert next_allowed_send(datetime(2024, 1, 15, 22, 0), "21:00-08:00", "UTC") == datetime(2024, 1, 16, 8, 0)


def test_time_zone_names_are_checked_against_the_tz_database() -> None:
    assert valid_timezone("Europe/London")
    assert valid_timezone("America/New_York")
    assert not valid_timezone("Mars/Olympus")
    assert not valid_timezone("")
    assert not valid_timezone("../etc/passwd")
