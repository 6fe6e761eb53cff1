"""GET /api/v1/audit: who changed what and when, newest first (admin scope)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify
from pydantic import BaseModel, Field

from bot.api.schemas import Query
from bot.audit import KINDS, PAGE_SIZE, audit_page
from bot.http_json import query
from bot.inputs import one_of
from bot.runtime import runtime
from storage.models import AuditEntry


class AuditQuery(Query):
    kind: one_of(*KINDS) | None = None  # type: ignore[valid-type]
    before: str | None = Field(default=None, pattern=r"^[1-9][0-9]{0,9}$")  # `next_before` of the previous page
    limit: str | None = Field(default=None, pattern=r"^([1-9][0-9]?|100)$")  # 1-100, default 50


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str  # a user's email, `api key <name> (#id)`, `cli` or `system`
    kind: str
    object: str
    action: str
    detail: dict[str, Any]


class AuditList(BaseModel):
    items: list[AuditEntryOut]
    next_before: int | None  # pass as `before` for the next, older page; null on the last page


def entry_out(entry: AuditEntry) -> AuditEntryOut:
    assert entry.id is not None
    return AuditEntryOut(id=entry.id, at=entry.at, actor=entry.actor, kind=entry.kind, object=entry.object_key,
                         action=entry.action, detail=entry.detail)


def list_audit() -> Response:
    asked = query(AuditQuery)
    with runtime().session() as session:
        page = audit_page(session, asked.kind, int(asked.before) if asked.before else None,
                          int(asked.limit) if asked.limit else PAGE_SIZE)
        body = AuditList(items=[entry_out(e) for e in page.entries], next_before=page.next_before)
    return jsonify(body.model_dump(mode="json"))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/audit", "list_audit", list_audit, methods=["GET"])
