"""Every message we send goes through here: one provider call, one classification, one log line, one row.

`send_and_record` is the whole path for a single message (reminder, re-prompt, thanks, confirmation, agent
reply): call, classify, log, record the outbound Message in its own transaction. The worker's survey sends
use `call_channel` alone, from its thread pool, and record their rows with `outbound_row` in the batch's one
outcome transaction: a transaction per send would cost the dispatch hot path a commit per message, which is
what batching exists to avoid. So the call, its classification and its log line are shared by every send,
and the row is written the same way by both.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlmodel import Session

from bot.runtime import Runtime
from bot.telemetry import record_provider_call
from channels.base import Channel, ChannelError, Outbound, SendResult
from storage.messages import last_inbound_at
from storage.models import Message

log = logging.getLogger("touchpoint.outbox")


@dataclass(frozen=True)
class Attempt:
    """One provider call: what the provider returned, or why it did not take the message."""

    message: Outbound
    transport: str
    result: SendResult | None = None
    error: ChannelError | None = None
    millis: float = 0.0

    @property
    def sent(self) -> bool:
        return self.result is not None

    @property
    def outcome(self) -> str:
        """sent, or the kind of failure: never the provider's text, which may quote an address."""
        if self.error is None:
            return "sent"
        if self.error.opted_out:
            return "opted_out"
        if self.error.retry_after:
            return "rate_limited"
        return "refused" if self.error.permanent else "failed"


def call_channel(channel: Channel, message: Outbound) -> Attempt:
    """Hand one message to its provider; only a ChannelError is an outcome, anything else is a bug and raises."""
    started = time.perf_counter()
    try:
        result = channel.send(message)
    except ChannelError as error:
        attempt = Attempt(message, channel.transport.name, error=error, millis=_since(started))
    else:
        attempt = Attempt(message, result.transport, result=result, millis=_since(started))
    log_attempt(attempt)
    record_provider_call(message.channel, attempt.transport, attempt.millis / 1000, attempt.outcome)
    return attempt


def log_attempt(attempt: Attempt) -> None:
    """The one line every send logs: kind, channel, transport, ids, duration and outcome; no address, no text. The
    delivery id is what ties it to the request that made the survey (the `event` line of ingestion)."""
    message, result = attempt.message, attempt.result
    log.log(
        logging.INFO if attempt.sent else logging.WARNING,
        "send kind=%s channel=%s transport=%s delivery=%s message=%s ms=%.1f outcome=%s%s",
        message.kind,
        message.channel,
        attempt.transport or "-",
        message.delivery_id if message.delivery_id is not None else "-",
        result.provider_message_id if result is not None else "-",
        attempt.millis,
        attempt.outcome,
        f" code={attempt.error.code}" if attempt.error is not None and attempt.error.code else "",
    )


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def send_and_record(
    rt: Runtime,
    message: Outbound,
    contact_id: int | None,
    on_sent: Callable[[Session, Message], None] | None = None,
) -> Attempt:
    """Send one message and record it, whatever happens; `on_sent` runs in the recording transaction."""
    channel = rt.channels.get(message.channel)
    if channel is None:
        attempt = Attempt(message, "", error=ChannelError("channel unavailable", permanent=True))
        log_attempt(attempt)
    else:
        attempt = call_channel(channel, message)
    result = attempt.result
    with rt.session() as session:
        row = outbound_row(message, contact_id, result.provider_message_id if result else None, attempt.transport)
        row.error = str(attempt.error) if attempt.error is not None else None
        session.add(row)
        if on_sent is not None and attempt.sent:
            session.flush()
            on_sent(session, row)
    return attempt


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


def with_session_windows(session: Session, messages: list[Outbound]) -> list[Outbound]:
    """Tell each WhatsApp message when its recipient last wrote (free text only within 24 hours)."""
    addresses = [m.to for m in messages if m.channel == "whatsapp"]
    if not addresses:
        return messages
    last = last_inbound_at(session, "whatsapp", addresses)
    return [replace(m, last_inbound_at=last.get(m.to)) if m.channel == "whatsapp" else m for m in messages]
