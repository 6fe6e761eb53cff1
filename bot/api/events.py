"""POST /api/v1/events: the one way the outside world asks for a survey."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from bot.api.schemas import DeliverySummary, EventAccepted, Skipped
from bot.http_json import json_body
from bot.ingest import ingest_event
from bot.inputs import EventIn, new_event
from bot.runtime import runtime


def create_event() -> tuple[Response, int]:
    payload = json_body(EventIn)
    result = ingest_event(runtime(), new_event(payload))
    body = EventAccepted(
        event_id=result.event_id,
        duplicate=result.duplicate,
        deliveries=[
            DeliverySummary(id=d.id or 0, flow=d.flow_key, channel=d.channel, status=d.status, due_at=d.due_at)
            for d in result.deliveries
        ],
        skipped=[Skipped(flow=flow, reason=reason) for flow, reason in result.skipped],
    )
    return jsonify(body.model_dump(mode="json")), 200 if result.duplicate else 202


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/events", "create_event", create_event, methods=["POST"])
