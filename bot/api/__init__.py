"""The JSON API, v1."""

from __future__ import annotations

from flask import Blueprint, g, request

from bot.http_json import ApiError, reject_unstorable_url
from bot.runtime import runtime
from storage.apikeys import verify_api_key


def require_api_key() -> None:
    """Every v1 endpoint needs `Authorization: Bearer <key>`; the key's digest is looked up on every request, so a
    revoked key is refused at once by every process."""
    if request.method == "OPTIONS" or request.endpoint == "api.openapi":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "unauthorized", "missing API key; send Authorization: Bearer <key>")
    holder = verify_api_key(runtime().engine, key.strip())
    if holder is None:
        raise ApiError(401, "unauthorized", "invalid or revoked API key")
    g.api_key_id, g.api_key_name = holder.id, holder.name


def api_blueprint() -> Blueprint:
    from bot.api import (
        apikeys,
        contacts,
        deliveries,
        events,
        flows,
        followups,
        insights,
        metrics,
        openapi,
        queues,
        responses,
        sandbox,
        sends,
        sites,
        webhooks,
    )

    bp = Blueprint("api", __name__, url_prefix="/api/v1")
    bp.before_request(require_api_key)
    bp.before_request(reject_unstorable_url)
    for module in (events, deliveries, responses, followups, queues, metrics, flows, sends, contacts, sandbox, sites,
                   apikeys, insights, webhooks, openapi):
        module.register(bp)
    return bp
