"""Durations as flow files write them: a whole number and one unit, such as 30m, 2h or 3d.

One unit per value keeps flow files easy to read and to diff; anything finer than a second has no
meaning for a survey that is sent minutes or days after an event. Nothing a survey waits for is longer
than a year, and a bound keeps every later date sum (due times, windows, deadlines) within range.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNIT_SECONDS: dict[str, int] = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?P<amount>\d+)(?P<unit>[smhd])")
_HINT = "use a whole number followed by s, m, h or d, such as 30m, 2h or 3d"
MAX_DURATION = timedelta(days=365)


def parse_duration(text: str) -> timedelta:
    """The timedelta a flow file means by `text`; ValueError with a hint when it is not one."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a duration; {_HINT}")
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration; {_HINT}")
    amount = match["amount"].lstrip("0") or "0"
    seconds = int(amount) * _UNIT_SECONDS[match["unit"]] if len(amount) <= 12 else None
    if seconds is None or seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"at most {MAX_DURATION.days}d")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest way to write `value` that parses back to it exactly (largest unit that divides it)."""
    if value < timedelta(0) or value.microseconds:
        raise ValueError(f"{value} cannot be written as a duration; only whole seconds of zero or more can")
    seconds = int(value.total_seconds())
    for unit, size in _UNIT_SECONDS.items():
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
