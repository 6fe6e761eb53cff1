"""/api/v1/apikeys: list and revoke keys. Keys are made only by `touchpoint apikey create`, and never shown again."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, jsonify
from pydantic import BaseModel

from bot.api.actor import api_actor
from bot.apikeys import revoke_key
from bot.runtime import runtime
from storage.apikeys import list_api_keys, scope_list
from storage.models import ApiKey


class ApiKeyOut(BaseModel):
    id: int
    name: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]


def key_out(key: ApiKey) -> ApiKeyOut:
    assert key.id is not None
    return ApiKeyOut(id=key.id, name=key.name, scopes=scope_list(key.scopes), created_at=key.created_at,
                     last_used_at=key.last_used_at, revoked_at=key.revoked_at)


def list_all() -> Response:
    with runtime().session() as session:
        items = [key_out(key) for key in list_api_keys(session)]
    return jsonify(ApiKeyList(items=items).model_dump(mode="json"))


def revoke(key_id: int) -> tuple[str, int]:
    """A key may revoke itself: stopping a leaked key must never wait for another one."""
    with runtime().session() as session:
        revoke_key(session, key_id, actor=api_actor())
    return "", 204


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/apikeys", "list_apikeys", list_all, methods=["GET"])
    bp.add_url_rule("/apikeys/<int:key_id>", "revoke_apikey", revoke, methods=["DELETE"])
