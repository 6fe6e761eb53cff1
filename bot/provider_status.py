"""Status callbacks from providers: a message moves forward only, and a survey that bounced moves on.

Callbacks arrive late, twice, or out of order ("sent" after "delivered"), so a status never moves back.
When the survey question itself fails after the provider took it, the delivery goes to the next channel of
its plan, as a failure at send time would; an unsubscribed recipient is opted out of the channel first.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.fallback import fall_back
from bot.runtime import Runtime
from channels.base import DeliveryState, StatusReport
from storage.contacts import opted_out_channels, set_opt_out
from storage.deliveries import record_status
from storage.messages import held_statuses, hold_status, outbound_by_provider_id
from storage.models import Contact, Delivery, DeliveryStatus, Message
from storage.types import utcnow

log = logging.getLogger("touchpoint.status")

# Statuses we stored ourselves ("queued" for a TwiML reply, "sent" once an API call returned) rank too.
_RANK = {"queued": 0, DeliveryState.ACCEPTED: 0, "sent": 1, DeliveryState.SENT: 1, DeliveryState.FAILED: 2,
         DeliveryState.DELIVERED: 3, DeliveryState.READ: 4}
_AWAITING = {DeliveryStatus.SENT, DeliveryStatus.DELIVERED}
HOLD_FOR = timedelta(days=1)


def apply_status(rt: Runtime, report: StatusReport) -> None:
    with rt.session() as session:
        if not _apply(rt, session, report):
            # Callbacks can beat the commit of the send that created the message: keep the report for later.
            hold_status(session, report.channel, report.provider_message_id, _stored(report))


def retry_held_statuses(rt: Runtime, now: datetime) -> int:
    """Apply the held reports whose message is stored now; drop those that waited longer than a day."""
    applied = 0
    with rt.session() as session:
        for held in held_statuses(session, rt.settings.worker_batch):
            report = StatusReport(**{**held.report, "state": DeliveryState(held.report["state"])})
            if _apply(rt, session, report):
                applied += 1
            elif now - held.received_at < HOLD_FOR:
                continue
            else:
                log.info("%s status for unknown message %s dropped after a day", held.channel,
                         held.provider_message_id)
            session.delete(held)
    return applied


def _stored(report: StatusReport) -> dict:
    return {**asdict(report), "state": str(report.state)}


def _apply(rt: Runtime, session: Session, report: StatusReport) -> bool:
    """False when the message is not (yet) stored."""
    message = _message_of(session, report)
    if message is None:
        return False
    _move_message(rt, session, message, report)
    return True


def _move_message(rt: Runtime, session: Session, message: Message, report: StatusReport) -> None:
    if _RANK.get(report.state, 0) <= _RANK.get(message.status or "", 0):
        return
    message.status = str(report.state)
    if report.error_code or report.error:
        message.error = f"{report.error_code or ''} {report.error or ''}".strip()[:500]
    session.add(message)
    contact = session.get(Contact, message.contact_id) if message.contact_id else None
    if report.opted_out and contact is not None and contact.id is not None:
        set_opt_out(session, contact.id, report.channel, utcnow(), "provider")
    if message.kind == "question" and message.delivery_id is not None and contact is not None:
        _move_delivery(rt, session, message.delivery_id, contact, report)


def _message_of(session: Session, report: StatusReport) -> Message | None:
    if report.our_message_id is not None:
        message = session.get(Message, report.our_message_id, with_for_update=True)
        if message is not None and message.channel == report.channel and message.direction == "out":
            message.provider_message_id = message.provider_message_id or report.provider_message_id
            return message
    return outbound_by_provider_id(session, report.channel, report.provider_message_id)


def _move_delivery(rt: Runtime, session: Session, delivery_id: int, contact: Contact, report: StatusReport) -> None:
    delivery = session.get(Delivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status not in _AWAITING or delivery.channel != report.channel:
        return
    if report.state in (DeliveryState.DELIVERED, DeliveryState.READ) and delivery.status == DeliveryStatus.SENT:
        record_status(session, delivery, DeliveryStatus.DELIVERED, f"{report.channel}: {report.provider_status}")
    elif report.state is DeliveryState.FAILED:
        assert contact.id is not None
        reason = f"{report.channel} {report.provider_status}" + (f" ({report.error_code})" if report.error_code else "")
        delivery.last_error = reason
        fall_back(rt, session, delivery, contact, reason, opted_out_channels(session, contact.id))
