"""/api/v1/queues: follow-up queues, their SLA and "did we fix it?" setting, their counts and figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Blueprint, Response, jsonify
from sqlmodel import Session

from bot.api.actor import api_actor
from bot.api.errors import not_found
from bot.api.schemas import QueueFiguresOut, QueueList, QueueOut, QueuePatch, QueuesQuery
from bot.audit import record
from bot.http_json import ApiError, invalid_parameter, json_body, query
from bot.runtime import runtime
from flows.durations import format_duration, parse_duration
from flows.schema import slug
from storage.cases import QueueCounts, QueueFigures, queue_counts, queue_figures
from storage.followups import ensure_queue, list_queues, queue_by_key
from storage.models import Queue
from storage.types import utcnow

MAX_SLA_MINUTES = 365 * 24 * 60
MAX_RECHECK_MINUTES = 90 * 24 * 60
DEFAULT_DUE_SOON = timedelta(hours=1)
MAX_DUE_SOON = timedelta(days=7)
FIGURES_PERIOD = timedelta(days=30)


@dataclass(frozen=True)
class Outlook:
    """What every queue in the answer is measured with: the due-soon window and the period of its figures."""

    now: datetime
    due_soon: timedelta
    since: datetime
    until: datetime

    @classmethod
    def from_query(cls) -> Outlook:
        params = query(QueuesQuery)
        now = utcnow()
        until = params.until or now
        since = params.since or until - FIGURES_PERIOD
        if since >= until:
            raise invalid_parameter("since", "must be before until")
        return cls(now, _due_soon(params.due_soon), since, until)


def queue_items(session: Session, queues: list[Queue], outlook: Outlook) -> list[QueueOut]:
    counts = queue_counts(session, outlook.now, outlook.due_soon)
    figures = queue_figures(session, outlook.since, outlook.until, outlook.now)
    return [queue_out(queue, counts.get(queue.id or 0), figures.get(queue.id or 0), outlook) for queue in queues]


def queue_out(queue: Queue, counts: QueueCounts | None, figures: QueueFigures | None, outlook: Outlook) -> QueueOut:
    counts = counts or QueueCounts(0, 0, 0)
    figures = figures or QueueFigures(0, 0, None, 0, None, 0, 0, 0, 0)
    recheck = queue.recheck_after_minutes
    return QueueOut(
        key=queue.key,
        name=queue.name,
        sla=format_duration(timedelta(minutes=queue.sla_minutes)),
        slack_channel=queue.slack_channel,
        recheck_after=format_duration(timedelta(minutes=recheck)) if recheck is not None else None,
        lead_email=queue.lead_email,
        overdue_assignee=queue.overdue_assignee,
        open=counts.open,
        due_soon=counts.due_soon,
        overdue=counts.overdue,
        figures=QueueFiguresOut(
            since=outlook.since, until=outlook.until, cases=figures.cases, replied=figures.replied,
            avg_first_response_seconds=_rounded(figures.first_response_seconds), resolved=figures.resolved,
            avg_resolution_seconds=_rounded(figures.resolution_seconds), sla_kept=_share(figures.sla_kept),
            rechecks_answered=figures.rechecks_answered, recovery_rate=_share(figures.recovery_rate),
        ),
    )


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _due_soon(given: str | None) -> timedelta:
    if given is None:
        return DEFAULT_DUE_SOON
    try:
        window = parse_duration(given)
    except (ValueError, OverflowError):
        raise invalid_parameter("due_soon", "a duration such as 30m or 2h") from None
    if not timedelta(minutes=1) <= window <= MAX_DUE_SOON:
        raise invalid_parameter("due_soon", "from 1m to 7d")
    return window


def list_all() -> Response:
    outlook = Outlook.from_query()
    with runtime().session() as session:
        items = queue_items(session, list_queues(session), outlook)
    return jsonify(QueueList(items=items).model_dump(mode="json"))


def get_one(key: str) -> Response:
    outlook = Outlook.from_query()
    with runtime().session() as session:
        queue = queue_by_key(session, key)
        if queue is None:
            raise not_found("queue", key)
        [item] = queue_items(session, [queue], outlook)
    return jsonify(item.model_dump(mode="json"))


def _minutes(field: str, value: str, most: int, most_text: str) -> int:
    """A duration field of the queue as whole minutes, from 1m to `most`; a 422 naming the field otherwise."""
    try:
        minutes = parse_duration(value).total_seconds() / 60
    except (ValueError, OverflowError) as exc:
        message = str(exc) if isinstance(exc, ValueError) else f"at most {most_text}"
        raise ApiError(422, "invalid", "the queue is not valid", [{"field": field, "message": message}]) from None
    if not 1 <= minutes <= most:
        message = "at least 1m" if minutes < 1 else f"at most {most_text}"
        raise ApiError(422, "invalid", "the queue is not valid", [{"field": field, "message": message}])
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
            queue.sla_minutes = _minutes("sla", payload.sla, MAX_SLA_MINUTES, "365d")
        if "recheck_after" in payload.model_fields_set:
            queue.recheck_after_minutes = None if payload.recheck_after is None else _minutes(
                "recheck_after", payload.recheck_after, MAX_RECHECK_MINUTES, "90d")
        if payload.name is not None:
            queue.name = payload.name
        for name in ("slack_channel", "lead_email", "overdue_assignee"):
            if name in payload.model_fields_set:
                setattr(queue, name, getattr(payload, name))
        session.add(queue)
        session.flush()
        record(session, api_actor(), "queue", key, "updated",
               **payload.model_dump(mode="json", exclude_unset=True))
        now = utcnow()
        [item] = queue_items(session, [queue], Outlook(now, DEFAULT_DUE_SOON, now - FIGURES_PERIOD, now))
    return jsonify(item.model_dump(mode="json"))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/queues", "list_queues", list_all, methods=["GET"])
    bp.add_url_rule("/queues/<key>", "get_queue", get_one, methods=["GET"])
    bp.add_url_rule("/queues/<key>", "patch_queue", patch, methods=["PATCH"])
