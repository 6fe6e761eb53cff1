"""How the API answers what goes wrong: a service's refusal, a validation error, an HTTP error (in the one JSON
error shape of bot.http_json)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from pydantic import ValidationError
from werkzeug import exceptions as http
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from bot.api.schemas import MAX_ID
from bot.errors import (
    AlreadyExists,
    CaseClosed,
    CaseNotResolved,
    CustomerOptedOut,
    CustomerUnreachable,
    FlowDisabled,
    InvalidValue,
    NotFound,
    NothingToCorrect,
    NotInSandbox,
    ProviderRefused,
    ServiceError,
    UnknownTheme,
)
from bot.http_json import ApiError, error_response, field_errors
from bot.webhooks import WebhookUrlRefused


def not_found(what: str, ident: object) -> ApiError:
    return ApiError(404, "not_found", f"{what} {ident} does not exist")


# How each service refusal reads in the API: (status, code). The message is the service's own.
SERVICE_ERRORS: dict[type[ServiceError], tuple[int, str]] = {
    NotFound: (404, "not_found"),
    CaseClosed: (409, "resolved"),
    CaseNotResolved: (409, "not_resolved"),
    InvalidValue: (422, "invalid"),
    AlreadyExists: (409, "conflict"),
    CustomerOptedOut: (409, "opted_out"),
    CustomerUnreachable: (409, "unreachable"),
    ProviderRefused: (502, "channel_error"),
    NotInSandbox: (422, "not_in_sandbox"),
    FlowDisabled: (409, "disabled"),
    WebhookUrlRefused: (422, "invalid"),


    NothingToCorrect: (409, "no_comment"),
    UnknownTheme: (422, "unknown_theme"),
}


def api_error(exc: ServiceError) -> ApiError:
    """The API's answer to a service's refusal (the most specific entry of SERVICE_ERRORS)."""
    kind = next((k for k in type(exc).__mro__ if k in SERVICE_ERRORS), None)
    status, code = SERVICE_ERRORS[kind] if kind is not None else (409, "refused")
    if isinstance(exc, NotInSandbox):
        choices = ", ".join(exc.sandbox_channels) or "none"
        return ApiError(status if exc.sandbox_channels else 404, code, exc.message,
                        [{"field": "channel", "message": f"one of: {choices}"}])
    field = getattr(exc, "field", None)
    return ApiError(status, code, exc.message, [{"field": field, "message": exc.message}] if field else None)


def _names_an_impossible_id(path: str) -> bool:
    """A path segment of digits past any id the database holds: no route can name it, whatever the method."""
    return any(part.isdigit() and int(part) > MAX_ID for part in path.split("/"))




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
        if isinstance(exc, MethodNotAllowed) and _names_an_impossible_id(request.path):
            exc = http.NotFound()  # routing found another method's rule before its id converter said no
        code = {413: "too_large", 404: "not_found", 405: "method_not_allowed"}.get(exc.code or 500, "http_error")
        response = error_response(exc.code or 500, code, exc.description or exc.name)
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response
