"""One JSON error shape for the whole API: {"error": {"code", "message", "details": [{field, message}]}}."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from bot.errors import (
    CaseClosed,
    CustomerOptedOut,
    CustomerUnreachable,
    NotFound,
    NotInSandbox,
    ProviderRefused,
    ServiceError,
)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


def not_found(what: str, ident: object) -> ApiError:
    return ApiError(404, "not_found", f"{what} {ident} does not exist")


# How each service refusal reads in the API: (status, code). The message is the service's own.
SERVICE_ERRORS: dict[type[ServiceError], tuple[int, str]] = {
    NotFound: (404, "not_found"),
    CaseClosed: (409, "resolved"),
    CustomerOptedOut: (409, "opted_out"),
    CustomerUnreachable: (409, "unreachable"),
    ProviderRefused: (502, "channel_error"),
    NotInSandbox: (422, "not_in_sandbox"),
}


def api_error(exc: ServiceError) -> ApiError:
    """The API's answer to a service's refusal (the most specific entry of SERVICE_ERRORS)."""
    kind = next((k for k in type(exc).__mro__ if k in SERVICE_ERRORS), None)
    status, code = SERVICE_ERRORS[kind] if kind is not None else (409, "refused")
    if isinstance(exc, NotInSandbox):
        choices = ", ".join(exc.sandbox_channels) or "none"
        return ApiError(status if exc.sandbox_channels else 404, code, exc.message,
                        [{"field": "channel", "message": f"one of: {choices}"}])
    return ApiError(status, code, exc.message)


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


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> Response:
        return _api_error(api_error(exc))

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> Response:
        return error_response(422, "invalid", "the request is not valid", field_errors(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if not request.path.startswith("/api/"):
            return exc
        code = {413: "too_large", 404: "not_found", 405: "method_not_allowed"}.get(exc.code or 500, "http_error")
        response = error_response(exc.code or 500, code, exc.description or exc.name)
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response
