"""Reading request bodies: strict JSON, no deeper than anyone needs, with only text the database can store."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from bot.api.errors import ApiError, field_errors
from flows.inputs import TooDeep, first_unstorable, strict_json

M = TypeVar("M", bound=BaseModel)


def raw_body() -> bytes:
    """The body; one of unknown length (chunked) that reaches the limit is refused like one that declares it."""
    data = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit:
        raise RequestEntityTooLarge()
    return data


def json_data() -> Any:
    """The JSON body as Python values, or a 4xx: 415 not JSON, 400 malformed, 422 a text that cannot be stored."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send a JSON body with Content-Type: application/json")
    try:
        data = strict_json(raw_body())
    except TooDeep:
        raise ApiError(400, "malformed_json", "the body is nested too deeply") from None
    except ValueError:
        raise ApiError(400, "malformed_json", "the body is not valid JSON") from None
    check_storable(data)
    return data


def check_storable(data: Any) -> None:
    """A 422 naming the first text the database cannot store, or a value nested deeper than MAX_DEPTH."""
    found = first_unstorable(data)
    if found:
        path, problem = found
        raise ApiError(422, "invalid", "the request is not valid", [{"field": path or "body", "message": problem}])


def json_body(model: type[M]) -> M:
    """The request body as `model`, or a 4xx naming what is wrong."""
    try:
        return model.model_validate(json_data())
    except ValidationError as exc:
        raise ApiError(422, "invalid", "the request is not valid", field_errors(exc)) from None
