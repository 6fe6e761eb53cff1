"""The sandbox API: read what the sandbox "sent" and reply as the customer would.

It exists only while at least one channel runs on its sandbox transport.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from bot.api.schemas import (
    ReplyOut,
    SandboxInbound,
    SandboxInboundResult,
    SandboxMessage,
    SandboxMessages,
    SandboxMessagesQuery,
)
from bot.http_json import ApiError, json_body, query
from bot.runtime import runtime
from bot.sandbox import sandbox_reply
from storage.sandbox import sandbox_messages


def list_messages() -> Response:
    rt = runtime()
    if not rt.sandbox_channels:
        raise ApiError(404, "not_in_sandbox", "no channel is running on the sandbox transport")
    to = query(SandboxMessagesQuery).to
    with rt.session() as session:
        rows = sandbox_messages(session, to)
    items = [
        SandboxMessage(
            id=m.id or 0,
            channel=m.channel,
            to=m.address,
            text=m.text,
            delivery_id=m.delivery_id,
            created_at=m.created_at,
        )
        for m in rows
    ]
    return jsonify(SandboxMessages(items=items).model_dump(mode="json"))


def post_inbound() -> tuple[Response, int]:
    payload = json_body(SandboxInbound)
    result = sandbox_reply(runtime(), payload.channel, payload.from_, payload.text)
    body = SandboxInboundResult(
        message_id=result.message_id,
        duplicate=result.duplicate,
        delivery_id=result.delivery_id,
        intent=result.intent,
        replies=[ReplyOut(kind=r.kind, text=r.text) for r in result.replies],
    )
    return jsonify(body.model_dump(mode="json")), 200


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/sandbox/messages", "sandbox_messages", list_messages, methods=["GET"])
    bp.add_url_rule("/sandbox/inbound", "sandbox_inbound", post_inbound, methods=["POST"])
