"""Sending conversational messages (prompts, thanks, reminders) and recording each one."""

from __future__ import annotations

import logging
from dataclasses import replace

from sqlmodel import Session

from bot.runtime import Runtime
from channels.base import ChannelError, Outbound
from storage.messages import last_inbound_at
from storage.models import Message

log = logging.getLogger("touchpoint.outbox")


def outbound_row(
    sent: Outbound, contact_id: int | None, provider_id: str | None, transport: str, status: str | None = None
) -> Message:
    return Message(
        direction="out",
        channel=sent.channel,
        address=sent.to,
        contact_id=contact_id,
        delivery_id=sent.delivery_id,
        kind=sent.kind,
        text=sent.text,
        transport=transport,
        provider_message_id=provider_id,
        status=status or ("sent" if provider_id else "failed"),
    )


def send_reply(rt: Runtime, message: Outbound, contact_id: int | None) -> bool:
    """Send a message outside a delivery's own send and record it, whatever happens."""
    channel = rt.channels.get(message.channel)
    provider_id, transport, error = None, "", None
    if channel is None:
        error = "channel unavailable"
    else:
        transport = channel.transport.name
        try:
            provider_id = channel.send(message).provider_message_id
        except ChannelError as exc:
            error = str(exc)
    with rt.session() as session:
        row = outbound_row(message, contact_id, provider_id, transport)
        row.error = error
        session.add(row)
    if error:
        log.warning("reply kind=%s channel=%s not sent: %s", message.kind, message.channel, error)
    return error is None


def with_session_windows(session: Session, messages: list[Outbound]) -> list[Outbound]:
    """Tell each WhatsApp message when its recipient last wrote (free text only within 24 hours)."""
    addresses = [m.to for m in messages if m.channel == "whatsapp"]
    if not addresses:
        return messages
    last = last_inbound_at(session, "whatsapp", addresses)
    return [replace(m, last_inbound_at=last.get(m.to)) if m.channel == "whatsapp" else m for m in messages]
