"""Reading request bodies: strict JSON, no deeper than anyone needs, with only text the database can store."""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from bot.api.errors import ApiError, field_errors

M = TypeVar("M", bound=BaseModel)
MAX_DEPTH = 32
# PostgreSQL refuses NUL in text, and a lone surrogate cannot be encoded as UTF-8 for any database.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """Why the database cannot store `text`, or None when it can."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return "must not contain NUL characters" if found.group() == "\x00" else "must be valid Unicode"


def raw_body() -> bytes:
    """The body; one of unknown length (chunked) that reaches the limit is refused like one that declares it."""
    data = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit:
        raise RequestEntityTooLarge()
    return data


def _not_json(constant: str) -> NoReturn:
    raise ValueError(f"{constant} is not JSON")


def json_data() -> Any:
    """The JSON body as Python values, or a 4xx: 415 not JSON, 400 malformed, 422 a text that cannot be stored."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send a JSON body with Content-Type: application/json")
    try:
        data = json.loads(raw_body(), parse_constant=_not_json)
    except RecursionError:
        raise ApiError(400, "malformed_json", "the body is nested too deeply") from None
    except ValueError:
        raise ApiError(400, "malformed_json", "the body is not valid JSON") from None
    check_storable(data)
    return data


def check_storable(data: Any) -> None:
    """A 422 naming the first text the database cannot store, or a value nested deeper than MAX_DEPTH."""
    stack: list[tuple[str, Any, int]] = [("", data, 0)]
    while stack:
        path, value, depth = stack.pop()
        problem = None
        if isinstance(value, str):
            problem = unstorable(value)
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                problem = f"nested too deeply (at most {MAX_DEPTH} levels)"
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                problem = problem or unstorable(str(key))
                stack.append((f"{path}.{key}" if path else str(key), item, depth + 1))
        if problem:
            raise ApiError(422, "invalid", "the request is not valid", [{"field": path or "body", "message": problem}])


def json_body(model: type[M]) -> M:
    """The request body as `model`, or a 4xx naming what is wrong."""
    try:
        return model.model_validate(json_data())
    except ValidationError as exc:
        raise ApiError(422, "invalid", "the request is not valid", field_errors(exc)) from None
