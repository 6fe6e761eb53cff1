"""The JSON API, v1."""

from __future__ import annotations

import time

from flask import Blueprint, g, request

from bot.api.errors import ApiError
from bot.api.params import reject_unstorable_url
from bot.runtime import runtime
from storage.apikeys import verify_api_key

API_KEY_CACHE_SECONDS = 60.0


def require_api_key() -> None:
    """Every v1 endpoint needs `Authorization: Bearer <key>`; the key's digest is looked up."""
    if request.method == "OPTIONS" or request.endpoint == "api.openapi":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "unauthorized", "missing API key; send Authorization: Bearer <key>")
    g.api_key_name = _key_name(key.strip())


def _key_name(key: str) -> str:
    """The key's name, from the database at most once a minute per key and process.

    The lookup (and its transaction) is a large share of a small request; the price is that a revoked key
    keeps working for up to a minute in processes that saw it recently.
    """
    rt = runtime()
    cached = rt.api_keys.get(key)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    with rt.session() as session:
        row = verify_api_key(session, key)
        if row is None:
            raise ApiError(401, "unauthorized", "invalid or revoked API key")
        rt.api_keys[key] = (row.name, time.monotonic() + API_KEY_CACHE_SECONDS)
        return row.name


def api_blueprint() -> Blueprint:
    from bot.api import (
        contacts,
        deliveries,
        events,
        flows,
        followups,
        metrics,
        openapi,
        queues,
        responses,
        sandbox,
        sites,
    )

    bp = Blueprint("api", __name__, url_prefix="/api/v1")
    bp.before_request(require_api_key)
    bp.before_request(reject_unstorable_url)
    for module in (events, deliveries, responses, followups, queues, metrics, flows, contacts, sandbox, sites,
                   openapi):
        module.register(bp)
    return bp
