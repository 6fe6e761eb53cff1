"""Which events start a flow: the trigger match, and the deterministic sample."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from flows.schema import FlowDefinition

_MISSING = object()
_TRUE_WORDS = frozenset({"true", "yes", "1"})
_FALSE_WORDS = frozenset({"false", "no", "0"})


def matches(defn: FlowDefinition, event_type: str, properties: Mapping[str, Any]) -> bool:
    """True when the event is the flow's trigger and every `where` condition holds for its properties."""
    return mismatch(defn, event_type, properties) is None


def mismatch(defn: FlowDefinition, event_type: str, properties: Mapping[str, Any]) -> str | None:
    """Why the event does not start the flow ("country is 'US', needs one of GB, IE"), or None when it does:
    whoever sent the event learns which condition to change instead of guessing."""
    if event_type != defn.trigger.event:
        return f"listens to {defn.trigger.event}, not {event_type}"
    for name, expected in (defn.trigger.where or {}).items():
        actual = _lookup(properties, name)
        if actual is _MISSING or not _holds(expected, actual):
            shown = "is missing" if actual is _MISSING else f"is {_show(actual)}"
            return f"{name} {shown}, needs {_needs(expected)}"
    return None


def example_properties(defn: FlowDefinition) -> dict[str, Any]:
    """Properties that satisfy the flow's `where` (the first option of each list): a starting point to edit."""
    return {name: expected[0] if isinstance(expected, list) and expected else expected
            for name, expected in (defn.trigger.where or {}).items()}


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value, default=str)


def _needs(expected: Any) -> str:
    if isinstance(expected, list):
        options = [option if isinstance(option, str) else json.dumps(option) for option in expected]
        return options[0] if len(options) == 1 else f"one of {', '.join(options)}"
    return expected if isinstance(expected, str) else json.dumps(expected)


def in_sample(defn: FlowDefinition, idempotency_key: str) -> bool:
    """Whether this event is in the flow's sample.

    The draw is a hash of the flow key and the event's idempotency key, not a random number, so a
    re-sent event gets the same answer and two flows with the same share sample different customers.
    """
    if defn.sample >= 1.0:
        return True
    if defn.sample <= 0.0:
        return False
    digest = hashlib.sha256(f"{defn.key}\x00{idempotency_key}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    return draw < defn.sample


def _lookup(properties: Mapping[str, Any], name: str) -> Any:
    """A property by name; a dotted name ("customer.plan") reaches into nested objects when not a key itself."""
    if name in properties:
        return properties[name]
    value: Any = properties
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _holds(expected: Any, actual: Any) -> bool:
    """A list means any of; a list-valued property matches when any of its items does."""
    options = expected if isinstance(expected, list) else [expected]
    values = actual if isinstance(actual, list | tuple) else [actual]
    return any(_same(option, value) for option in options for value in values)


def _same(expected: Any, actual: Any) -> bool:
    """Equality as an admin means it: 10 matches "10" and 10.0, "GB" matches "gb", true matches "true".

    Two strings are compared as text, never as numbers, so "0123" (a postcode, say) does not match "123".
    """
    if actual is None:
        return False
    if isinstance(expected, bool) or isinstance(actual, bool):
        return _as_bool(expected) is not None and _as_bool(expected) == _as_bool(actual)
    if _is_number(expected) or _is_number(actual):
        expected_number, actual_number = _as_number(expected), _as_number(actual)
        return expected_number is not None and expected_number == actual_number
    return str(expected).strip().casefold() == str(actual).strip().casefold()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().casefold()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return None


def _as_number(value: Any) -> float | None:
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None
