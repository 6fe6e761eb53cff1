"""The JSON API, v1."""

from __future__ import annotations

from flask import Blueprint, g, request

from bot.api.errors import ApiError
from bot.runtime import runtime
from storage.apikeys import verify_api_key


def require_api_key() -> None:
    """Every v1 endpoint needs `Authorization: Bearer <key>`; the key's digest is looked up."""
    if request.method == "OPTIONS" or request.endpoint == "api.openapi":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "unauthorized", "missing API key; send Authorization: Bearer <key>")
    with runtime().session() as session:
        row = verify_api_key(session, key.strip())
        if row is None:
            raise ApiError(401, "unauthorized", "invalid or revoked API key")
        g.api_key_name = row.name


def api_blueprint() -> Blueprint:
    from bot.api import deliveries, events, flows, followups, metrics, openapi, queues, responses, sandbox

    bp = Blueprint("api", __name__, url_prefix="/api/v1")
    bp.before_request(require_api_key)
    for module in (events, deliveries, responses, followups, queues, metrics, flows, sandbox, openapi):
        module.register(bp)
    return bp
