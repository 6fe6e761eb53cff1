"""GET /api/v1/deliveries/{id}: everything that happened to one survey."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from bot.api.errors import not_found
from bot.api.params import ID
from bot.api.responses import response_out
from bot.api.schemas import ContactRef, DeliveryOut, MessageOut, StatusChangeOut
from bot.runtime import runtime
from storage.deliveries import status_history
from storage.messages import messages_of_delivery
from storage.models import Contact, Delivery, Flow
from storage.responses import response_for_delivery


def get_delivery(delivery_id: int) -> Response:
    with runtime().session() as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            raise not_found("delivery", delivery_id)
        contact = session.get(Contact, delivery.contact_id)
        flow = session.get(Flow, delivery.flow_id)
        assert contact is not None and flow is not None
        response = response_for_delivery(session, delivery_id)
        body = DeliveryOut(
            id=delivery_id,
            event_id=delivery.event_id,
            flow=delivery.flow_key,
            flow_version=flow.version,
            contact=ContactRef(external_id=contact.external_id),
            channel=delivery.channel,
            channel_plan=list(delivery.channel_plan),
            status=delivery.status,
            conversation=delivery.conversation,
            due_at=delivery.due_at,
            attempts=delivery.attempts,
            sent_at=delivery.sent_at,
            answered_at=delivery.answered_at,
            expires_at=delivery.expires_at,
            last_error=delivery.last_error,
            history=[
                StatusChangeOut(status=c.status, channel=c.channel, at=c.at, detail=c.detail)
                for c in status_history(session, delivery_id)
            ],
            messages=[
                MessageOut(
                    id=m.id or 0,
                    direction=m.direction,
                    channel=m.channel,
                    kind=m.kind,
                    text=m.text,
                    status=m.status,
                    created_at=m.created_at,
                )
                for m in messages_of_delivery(session, delivery_id)
            ],
            response=response_out(response, contact.external_id) if response else None,
        )
    return jsonify(body.model_dump(mode="json"))


def register(bp: Blueprint) -> None:
    bp.add_url_rule(f"/deliveries/<{ID}:delivery_id>", "get_delivery", get_delivery, methods=["GET"])
