"""Quiet hours: when a survey that falls due at night waits for the morning, in the contact's time zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_WINDOW = re.compile(r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})")


def parse_quiet_hours(text: str) -> tuple[time, time]:
    """Start and end of a "HH:MM-HH:MM" window; the end may be earlier than the start (past midnight)."""
    match = _WINDOW.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a quiet-hours window; write it as HH:MM-HH:MM, such as 21:00-08:00")
    start, end = _clock(match["start"]), _clock(match["end"])
    if start == end:
        raise ValueError(f"{text!r} starts and ends at the same time; a window needs a length")
    return start, end


def valid_timezone(name: str) -> bool:
    """True for an IANA zone name such as Europe/London that this system's tz database knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return False
    return True


def next_allowed_send(at_utc: datetime, quiet_hours: str | None, tz_name: str) -> datetime:
    """The earliest instant at or after `at_utc` that is outside the contact's quiet hours.

    The window is wall-clock time where the contact lives, so "21:00-08:00" means 8 in the morning
    there, whatever the offset that day. An unknown zone falls back to UTC rather than losing the survey.
    A naive `at_utc` is read as UTC and the answer is naive too, like the question.
    """
    if quiet_hours is None:
        return at_utc
    start, end = parse_quiet_hours(quiet_hours)
    zone = _zone(tz_name)
    aware = at_utc if at_utc.tzinfo is not None else at_utc.replace(tzinfo=UTC)
    local = aware.astimezone(zone)
    end_day = _window_end_day(local.replace(tzinfo=None), start, end)
    if end_day is None:
        return at_utc
    resume = _wall_time_to_utc(end_day, end, zone)
    return resume if at_utc.tzinfo is not None else resume.replace(tzinfo=None)


def _window_end_day(local: datetime, start: time, end: time) -> date | None:
    """The local date on which the window containing `local` ends, or None when `local` is outside it."""
    now = local.time()
    if start < end:
        return local.date() if start <= now < end else None
    if now >= start:
        return local.date() + timedelta(days=1)
    if now < end:
        return local.date()
    return None


def _wall_time_to_utc(day: date, at: time, zone: tzinfo) -> datetime:
    """The instant a local clock shows `at` on `day`.

    fold=0 gives the sensible answer on both DST days: when clocks go forward and `at` does not exist,
    it is read with the offset from before the jump, which lands just after the gap (02:30 becomes
    03:30); when clocks go back and `at` happens twice, it is the first occurrence, so nobody waits an
    extra hour.
    """
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return UTC


def _clock(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} is not a time of day; use 00:00 to 23:59")
    return time(hours, minutes)
