"""POST /api/v1/events: the one way the outside world asks for a survey."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from bot.api.body import json_body
from bot.api.schemas import DeliverySummary, EventAccepted, EventIn, Skipped
from bot.ingest import NewContact, NewEvent, ingest_event
from bot.runtime import runtime


def new_event(payload: EventIn) -> NewEvent:
    """The service's input from the API's body: the contact fields the caller set, and only those; the
    generic addresses beside the named ones (all are addresses by kind to the service)."""
    fields = payload.contact.model_dump(exclude={"external_id", "addresses"}, exclude_unset=True)
    fields |= payload.contact.addresses or {}
    contact = NewContact(payload.contact.external_id, fields)
    return NewEvent(payload.type, payload.idempotency_key, contact, payload.properties, payload.occurred_at)


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
