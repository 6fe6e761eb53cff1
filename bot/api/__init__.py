"""The JSON API, v1."""

from __future__ import annotations

from flask import Blueprint, g, request

from bot.api.scopes import OWN_KEY, PUBLIC, scope_of
from bot.http_json import ApiError, reject_unstorable_url
from bot.runtime import runtime
from storage.apikeys import KeyHolder, verify_api_key


def require_api_key() -> None:
    """Every v1 endpoint needs `Authorization: Bearer <key>`; the key's digest is looked up on every request, so a
    revoked key is refused at once by every process. The key must hold the operation's scope (bot.api.scopes)."""
    if request.method == "OPTIONS" or request.endpoint in PUBLIC:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "unauthorized", "missing API key; send Authorization: Bearer <key>")
    holder = verify_api_key(runtime().engine, key.strip())
    if holder is None:
        raise ApiError(401, "unauthorized", "invalid or revoked API key")
    g.api_key_id, g.api_key_name = holder.id, holder.name
    if request.endpoint is not None:  # an unknown path or method is a 404 or 405 for any key
        _require_scope(holder, request.endpoint)


def _require_scope(holder: KeyHolder, endpoint: str) -> None:
    needed = scope_of(endpoint)
    if holder.allows(needed):
        return
    own = OWN_KEY.get(endpoint)
    if own is not None and (request.view_args or {}).get(own) == holder.id:
        return
    held = " ".join(sorted(holder.scopes))
    raise ApiError(403, "insufficient_scope", f"this API key lacks the scope {needed}",
                   [{"field": "scope", "message": f"needs {needed}; the key has {held}"}])


def api_blueprint() -> Blueprint:
    from bot.api import (
        apikeys,
        audit,
        casework,
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
        themes,
        webhooks,
    )

    bp = Blueprint("api", __name__, url_prefix="/api/v1")
    bp.before_request(require_api_key)
    bp.before_request(reject_unstorable_url)
    for module in (events, deliveries, responses, followups, queues, casework, metrics, flows, sends, contacts,
                   sandbox, sites, apikeys, insights, webhooks, audit, themes, openapi):
        module.register(bp)
    return bp
