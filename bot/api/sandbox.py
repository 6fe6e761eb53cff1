"""The sandbox API: read what the sandbox "sent" and reply as the customer would.

It exists only while at least one channel runs on its sandbox transport.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, jsonify

from bot.api.body import json_body
from bot.api.errors import ApiError
from bot.api.params import query
from bot.api.schemas import (
    ReplyOut,
    SandboxInbound,
    SandboxInboundResult,
    SandboxMessage,
    SandboxMessages,
    SandboxMessagesQuery,
)
from bot.inbound import InboundResult, receive
from bot.runtime import Runtime, runtime
from channels.base import Inbound
from storage.sandbox import SANDBOX, sandbox_messages


def sandbox_channel_or_error(rt: Runtime, channel: str) -> None:
    if channel not in rt.sandbox_channels:
        raise ApiError(
            404 if not rt.sandbox_channels else 422,
            "not_in_sandbox",
            f"channel {channel!r} is not running on the sandbox transport",
            [{"field": "channel", "message": f"one of: {', '.join(rt.sandbox_channels) or 'none'}"}],
        )


def sandbox_reply(rt: Runtime, channel: str, sender: str, text: str) -> InboundResult:
    """Handle text typed by a pretend customer exactly as a provider webhook would be handled."""
    sandbox_channel_or_error(rt, channel)
    raw = {"from": sender, "text": text}
    return receive(rt, Inbound(channel, sender, text, f"sbin-{uuid.uuid4().hex}", raw, transport=SANDBOX))


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
