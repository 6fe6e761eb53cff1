"""/sandbox: a page where a person plays the customer on every sandboxed channel.

The page talks to small same-origin JSON endpoints here rather than to the API, so a newcomer needs
no API key. They exist only while channels run on the sandbox transport.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, render_template, request
from pydantic import ValidationError
from sqlmodel import Session, select

from bot.api.errors import ApiError, field_errors
from bot.api.sandbox import sandbox_reply
from bot.api.schemas import EventIn
from bot.ingest import ingest_event
from bot.runtime import Runtime, runtime
from channels.email import choices
from flows.questions import QuestionKind
from storage.flow_versions import current_flows
from storage.messages import thread
from storage.models import Delivery, Flow, Message


def page() -> str:
    rt = runtime()
    with rt.session() as session:
        flows = [(f.key, f.definition.get("trigger", {}).get("event", "")) for f in current_flows(session)]
    return render_template("sandbox.html", channels=rt.sandbox_channels, flows=flows)


def conversations() -> Response:
    with runtime().session() as session:
        rows = session.exec(
            select(Message.channel, Message.address, sa.func.max(Message.id))
            .where(Message.transport == "sandbox")
            .group_by(Message.channel, Message.address)
            .order_by(sa.func.max(Message.id).desc())
        ).all()
    return jsonify({"items": [{"channel": c, "address": a} for c, a, _ in rows]})


def messages() -> Response:
    channel, address = request.args.get("channel", ""), request.args.get("address", "")
    rt = runtime()
    with rt.session() as session:
        rows = thread(session, channel, address)
        items = [{"id": m.id, "direction": m.direction, "kind": m.kind, "text": m.text,
                  "links": _survey_links(rt, session, m)} for m in rows]
    return jsonify({"items": items})


def _survey_links(rt: Runtime, session: Session, message: Message) -> list[dict[str, str]]:
    """An email survey's score links, so the sandbox can be answered the way the mail would be."""
    if message.channel != "email" or message.kind not in ("question", "reminder") or message.delivery_id is None:
        return []
    delivery = session.get(Delivery, message.delivery_id)
    flow = session.get(Flow, delivery.flow_id) if delivery else None
    if delivery is None or flow is None:
        return []
    kind = QuestionKind(rt.definition(flow).question.kind)
    return [{"label": c.label, "url": c.url} for c in choices(kind, delivery.token, "", None)]


def reply() -> Response:
    data = request.get_json(silent=True) or {}
    text = str(data.get("text", "")).strip()
    if not text:
        raise ApiError(422, "invalid", "type a reply first", [{"field": "text", "message": "empty"}])
    result = sandbox_reply(runtime(), str(data.get("channel", "")), str(data.get("address", "")), text)
    return jsonify({"intent": result.intent, "delivery_id": result.delivery_id})


def trigger() -> Response:
    data = request.get_json(silent=True) or {}
    try:
        payload = EventIn.model_validate(
            {
                "type": data.get("type"),
                "idempotency_key": f"sandbox-{uuid.uuid4().hex}",
                "contact": data.get("contact") or {},
                "properties": data.get("properties") or {},
            }
        )
    except ValidationError as exc:
        raise ApiError(422, "invalid", "the event is not valid", field_errors(exc)) from None
    result = ingest_event(runtime(), payload)
    return jsonify(
        {
            "deliveries": [
                {"id": d.id, "flow": d.flow_key, "channel": d.channel, "due_at": d.due_at.isoformat()}
                for d in result.deliveries
            ],
            "skipped": [{"flow": f, "reason": r} for f, r in result.skipped],
        }
    )


def sandbox_blueprint() -> Blueprint:
    bp = Blueprint("sandbox", __name__, url_prefix="/sandbox", template_folder="../templates")
    bp.add_url_rule("", "page", page, methods=["GET"])
    bp.add_url_rule("/conversations", "conversations", conversations, methods=["GET"])
    bp.add_url_rule("/messages", "messages", messages, methods=["GET"])
    bp.add_url_rule("/reply", "reply", reply, methods=["POST"])
    bp.add_url_rule("/trigger", "trigger", trigger, methods=["POST"])
    return bp
