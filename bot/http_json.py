"""What every surface that speaks JSON over HTTP shares (the API, the sandbox page's script): one error shape,
{"error": {"code", "message", "details": [{field, message}]}}, and the same checks on bodies, paths and query
strings: strict JSON, no deeper than anyone needs, only text the database can store, a wrong part named."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Response, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from flows.inputs import TooDeep, first_unstorable, strict_json, unstorable

Q = TypeVar("Q", bound=BaseModel)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


def error_response(status: int, code: str, message: str, details: list[dict[str, str]] | None = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": details or []}})
    response.status_code = status
    return response


def field_errors(exc: ValidationError, prefix: str = "", unknown: str = "unknown field") -> list[dict[str, str]]:
    details = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(part) for part in err["loc"] if part != "__root__")
        message = unknown if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        details.append({"field": f"{prefix}{path}" if path else prefix.rstrip(".") or "body", "message": message})
    return details


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


def invalid_parameter(name: str, message: str) -> ApiError:
    return ApiError(422, "invalid", f"bad {name}", [{"field": name, "message": message}])


def reject_unstorable_url() -> None:
    """Before any v1 view: a text the database cannot store (NUL) in the path or query is nobody's id or filter."""
    for name, value in [*(request.view_args or {}).items(), *request.args.items(multi=True)]:
        problem = unstorable(value) if isinstance(value, str) else None
        if problem:
            raise invalid_parameter(name, problem)


def query(model: type[Q]) -> Q:
    """The query string as `model` (the first value of a repeated parameter)."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        details = field_errors(exc, unknown="unknown parameter")
        raise ApiError(422, "invalid", f"bad {', '.join(d['field'] for d in details)}", details) from None
