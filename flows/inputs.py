"""Text and JSON from outside, held to what the database can store.

PostgreSQL refuses NUL in text (and in JSONB), and a lone surrogate cannot be encoded as UTF-8 for any
database. Our own forms and JSON endpoints refuse such input with a 4xx naming the field (`unstorable`,
`first_unstorable`); a customer's message relayed by a provider is kept with the characters made storable
(`storable`), since refusing it would lose the answer and make the provider retry.
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

MAX_DEPTH = 32
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """Why the database cannot store `text`, or None when it can."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return "must not contain NUL characters" if found.group() == "\x00" else "must be valid Unicode"


def first_unstorable(data: Any, max_depth: int = MAX_DEPTH) -> tuple[str, str] | None:
    """The dotted path and reason of the first text the database cannot store, or of a value nested deeper
    than `max_depth`; None when everything can be stored. The path is empty for `data` itself."""
    stack: list[tuple[str, Any, int]] = [("", data, 0)]
    while stack:
        path, value, depth = stack.pop()
        problem = None
        if isinstance(value, str):
            problem = unstorable(value)
        elif isinstance(value, dict | list):
            if depth >= max_depth:
                problem = f"nested too deeply (at most {max_depth} levels)"
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                problem = problem or unstorable(str(key))
                stack.append((f"{path}.{key}" if path else str(key), item, depth + 1))
        if problem:
            return path, problem
    return None


def storable(value: Any) -> Any:
    """`value` with NUL removed and lone surrogates replaced by U+FFFD, in every text, key and nested item."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value.replace("\x00", ""))
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [storable(item) for item in value]
    return value


class TooDeep(ValueError):
    """JSON nested so deep that Python's parser would run out of stack."""


def _not_json(constant: str) -> NoReturn:
    raise ValueError(f"{constant} is not JSON")


def strict_json(data: bytes | str) -> Any:
    """JSON as Python values; ValueError for what is not JSON (NaN and Infinity included), TooDeep for JSON
    nested deeper than Python's parser can go."""
    try:
        return json.loads(data, parse_constant=_not_json)
    except RecursionError:
        raise TooDeep("nested too deeply") from None
