"""/api/v1/queues: follow-up queues and their SLA."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, jsonify
from sqlmodel import Session

from bot.api.errors import not_found
from bot.api.schemas import QueueList, QueueOut, QueuePatch, QueuesQuery
from bot.http_json import ApiError, invalid_parameter, json_body, query
from bot.runtime import runtime
from flows.durations import format_duration, parse_duration
from flows.schema import slug
from storage.cases import QueueCounts, queue_counts
from storage.followups import ensure_queue, list_queues, queue_by_key
from storage.models import Queue
from storage.types import utcnow

MAX_SLA_MINUTES = 365 * 24 * 60


DEFAULT_DUE_SOON = timedelta(hours=1)
MAX_DUE_SOON = timedelta(days=7)


def queue_out(queue: Queue, counts: QueueCounts | None) -> QueueOut:
    counts = counts or QueueCounts(0, 0, 0)
    return QueueOut(
        key=queue.key,
        name=queue.name,
        sla=format_duration(timedelta(minutes=queue.sla_minutes)),
        slack_channel=queue.slack_channel,
        open=counts.open,
        due_soon=counts.due_soon,
        overdue=counts.overdue,
    )


def _due_soon() -> timedelta:
    given = query(QueuesQuery).due_soon
    if given is None:
        return DEFAULT_DUE_SOON
    try:
        window = parse_duration(given)
    except (ValueError, OverflowError):
        raise invalid_parameter("due_soon", "a duration such as 30m or 2h") from None
    if not timedelta(minutes=1) <= window <= MAX_DUE_SOON:
        raise invalid_parameter("due_soon", "from 1m to 7d")
    return window


def _counts(session: Session, window: timedelta) -> dict[int, QueueCounts]:
    return queue_counts(session, utcnow(), window)


def list_all() -> Response:
    window = _due_soon()
    with runtime().session() as session:
        counts = _counts(session, window)
        items = [queue_out(q, counts.get(q.id or 0)) for q in list_queues(session)]
    return jsonify(QueueList(items=items).model_dump(mode="json"))


def get_one(key: str) -> Response:
    window = _due_soon()
    with runtime().session() as session:
        queue = queue_by_key(session, key)
        if queue is None:
            raise not_found("queue", key)
        return jsonify(queue_out(queue, _counts(session, window).get(queue.id or 0)).model_dump(mode="json"))


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
        counts = _counts(session, DEFAULT_DUE_SOON).get(queue.id or 0)
        return jsonify(queue_out(queue, counts).model_dump(mode="json"))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/queues", "list_queues", list_all, methods=["GET"])
    bp.add_url_rule("/queues/<key>", "get_queue", get_one, methods=["GET"])
    bp.add_url_rule("/queues/<key>", "patch_queue", patch, methods=["PATCH"])
