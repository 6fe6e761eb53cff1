"""/api/v1/queues: follow-up queues and their SLA."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify
from sqlmodel import Session, select

from bot.api.errors import not_found
from bot.api.schemas import QueueList, QueueOut, QueuePatch
from bot.http_json import ApiError, json_body
from bot.runtime import runtime
from flows.durations import format_duration, parse_duration
from flows.schema import slug
from storage.followups import ensure_queue, list_queues, queue_by_key
from storage.models import FollowUp, FollowUpStatus, Queue

MAX_SLA_MINUTES = 365 * 24 * 60


def queue_out(session: Session, queue: Queue) -> QueueOut:
    open_cases = session.exec(
        select(sa.func.count())
        .select_from(FollowUp)
        .where(FollowUp.queue_id == queue.id, FollowUp.status != FollowUpStatus.RESOLVED)
    ).one()
    return QueueOut(
        key=queue.key,
        name=queue.name,
        sla=format_duration(timedelta(minutes=queue.sla_minutes)),
        slack_channel=queue.slack_channel,
        open=open_cases,
    )


def list_all() -> Response:
    with runtime().session() as session:
        items = [queue_out(session, q) for q in list_queues(session)]
    return jsonify(QueueList(items=items).model_dump(mode="json"))


def get_one(key: str) -> Response:
    with runtime().session() as session:
        queue = queue_by_key(session, key)
        if queue is None:
            raise not_found("queue", key)
        return jsonify(queue_out(session, queue).model_dump(mode="json"))


def _sla_minutes(sla: str) -> int:
    try:
        minutes = parse_duration(sla).total_seconds() / 60
    except (ValueError, OverflowError) as exc:
        message = str(exc) if isinstance(exc, ValueError) else "at most 365d"
        raise ApiError(422, "invalid", "the queue is not valid", [{"field": "sla", "message": message}]) from None
    if not 1 <= minutes <= MAX_SLA_MINUTES:
        message = "at least 1m" if minutes < 1 else "at most 365d"
        raise ApiError(422, "invalid", "the queue is not valid", [{"field": "sla", "message": message}])
    return int(minutes)


def patch(key: str) -> Response:
    """Change a queue; a queue no routing rule has used yet is created, so it can be set up before its first case."""
    payload = json_body(QueuePatch)
    try:
        slug(key)
    except ValueError as problem:
        raise ApiError(422, "invalid", "the queue is not valid", [{"field": "key", "message": str(problem)}]) from None
    with runtime().session() as session:
        queue = ensure_queue(session, key)
        if payload.sla is not None:
            queue.sla_minutes = _sla_minutes(payload.sla)
        if payload.name is not None:
            queue.name = payload.name
        if "slack_channel" in payload.model_fields_set:
            queue.slack_channel = payload.slack_channel
        session.add(queue)
        session.flush()
        return jsonify(queue_out(session, queue).model_dump(mode="json"))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/queues", "list_queues", list_all, methods=["GET"])
    bp.add_url_rule("/queues/<key>", "get_queue", get_one, methods=["GET"])
    bp.add_url_rule("/queues/<key>", "patch_queue", patch, methods=["PATCH"])
