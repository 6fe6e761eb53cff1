"""Reading JSON request bodies into the API's pydantic models."""

from __future__ import annotations

from typing import TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from bot.api.errors import ApiError, field_errors

M = TypeVar("M", bound=BaseModel)


def json_body(model: type[M]) -> M:
    """The request body as `model`, or a 4xx naming what is wrong."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send a JSON body with Content-Type: application/json")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "malformed_json", "the body is not valid JSON")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid", "the request is not valid", field_errors(exc)) from None
