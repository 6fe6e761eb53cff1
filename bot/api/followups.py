"""/api/v1/followups: the queue of cases an agent works, and the actions that close the loop."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request
from sqlmodel import Session

from bot.api.errors import not_found
from bot.api.params import ID
from bot.api.responses import response_out
from bot.api.schemas import (
    ActivityOut,
    ClaimIn,
    ContactRef,
    FollowUpDetail,
    FollowUpList,
    FollowUpOut,
    FollowUpsQuery,
    NoteIn,
    ReplyIn,
    ResolveIn,
    encode_cursor,
)
from bot.followups import add_note, claim_case, reply_to_customer, resolve_case
from bot.http_json import json_body, query
from bot.runtime import runtime
from storage.followups import activities, list_followups
from storage.models import Contact, FollowUp, FollowUpStatus, Queue
from storage.models import Response as ResponseRow
from storage.types import utcnow

PAGE = 50


def followup_out(session: Session, followup: FollowUp, queue_key: str) -> FollowUpOut:
    contact = session.get(Contact, followup.contact_id)
    assert contact is not None and followup.id is not None
    return FollowUpOut(
        id=followup.id,
        response_id=followup.response_id,
        delivery_id=followup.delivery_id,
        queue=queue_key,
        status=followup.status,
        priority=followup.priority,
        due_at=followup.due_at,
        assignee=followup.assignee,
        channel=followup.channel,
        contact=ContactRef(external_id=contact.external_id),
        reason=followup.reason,
        overdue=followup.status != FollowUpStatus.RESOLVED and followup.due_at < utcnow(),
        created_at=followup.created_at,
        resolved_at=followup.resolved_at,
    )


def detail(session: Session, followup: FollowUp) -> dict:
    assert followup.id is not None
    queue = session.get(Queue, followup.queue_id)
    response = session.get(ResponseRow, followup.response_id)
    assert queue is not None and response is not None
    summary = followup_out(session, followup, queue.key)
    body = FollowUpDetail(
        **summary.model_dump(),
        response=response_out(response, summary.contact.external_id),
        activity=[
            ActivityOut(kind=a.kind, actor=a.actor, text=a.text, at=a.at) for a in activities(session, followup.id)
        ],
    )
    return body.model_dump(mode="json")


def actor(name: str | None) -> str:
    """Who did it: the name the caller gives, else the API key's name."""
    return name or g.get("api_key_name") or "api"


def list_all() -> Response:
    params = query(FollowUpsQuery)
    with runtime().session() as session:
        rows = list_followups(
            session, queue=params.queue, status=params.status, after_id=params.cursor, limit=PAGE + 1
        )
        items = [followup_out(session, f, key) for f, key in rows[:PAGE]]
    next_cursor = encode_cursor(items[-1].id) if len(rows) > PAGE else None
    return jsonify(FollowUpList(items=items, next_cursor=next_cursor).model_dump(mode="json"))


def get_one(followup_id: int) -> Response:
    with runtime().session() as session:
        followup = session.get(FollowUp, followup_id)
        if followup is None:
            raise not_found("follow-up", followup_id)
        return jsonify(detail(session, followup))


def claim(followup_id: int) -> Response:
    payload = json_body(ClaimIn) if request.content_length else ClaimIn()
    with runtime().session() as session:
        return jsonify(detail(session, claim_case(session, followup_id, actor(payload.assignee))))


def note(followup_id: int) -> Response:
    payload = json_body(NoteIn)
    with runtime().session() as session:
        return jsonify(detail(session, add_note(session, followup_id, actor(payload.author), payload.text)))


def reply(followup_id: int) -> Response:
    payload = json_body(ReplyIn)
    rt = runtime()
    reply_to_customer(rt, followup_id, actor(payload.author), payload.text)
    with rt.session() as session:
        return jsonify(detail(session, session.get(FollowUp, followup_id)))


def resolve(followup_id: int) -> Response:
    payload = json_body(ResolveIn) if request.content_length else ResolveIn()
    with runtime().session() as session:
        return jsonify(detail(session, resolve_case(session, followup_id, actor(payload.author), payload.note)))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/followups", "list_followups", list_all, methods=["GET"])
    bp.add_url_rule(f"/followups/<{ID}:followup_id>", "get_followup", get_one, methods=["GET"])
    bp.add_url_rule(f"/followups/<{ID}:followup_id>/claim", "claim_followup", claim, methods=["POST"])
    bp.add_url_rule(f"/followups/<{ID}:followup_id>/notes", "note_followup", note, methods=["POST"])
    bp.add_url_rule(f"/followups/<{ID}:followup_id>/reply", "reply_followup", reply, methods=["POST"])
    bp.add_url_rule(f"/followups/<{ID}:followup_id>/resolve", "resolve_followup", resolve, methods=["POST"])
