"""When a channel cannot carry a survey: the next reachable channel of the delivery's plan, or the end."""

from __future__ import annotations

from sqlmodel import Session

from bot.recipients import recipient_of
from bot.runtime import Runtime
from storage.deliveries import record_status
from storage.models import Contact, Delivery, DeliveryStatus
from storage.types import utcnow


def fall_back(
    rt: Runtime, session: Session, delivery: Delivery, contact: Contact, reason: str, opted_out: set[str]
) -> None:
    """Move to the next reachable channel of the plan, or give up as failed / suppressed."""
    recipient = recipient_of(contact)
    plan = list(delivery.channel_plan)
    while plan:
        candidate = plan.pop(0)
        channel = rt.channels.get(candidate)
        if candidate in opted_out or channel is None or channel.address(recipient) is None:
            continue
        previous = delivery.channel
        delivery.channel = candidate
        delivery.channel_plan = plan
        delivery.attempts = 0
        delivery.due_at = utcnow()
        record_status(session, delivery, DeliveryStatus.SCHEDULED, f"fallback from {previous}: {reason}")
        return
    delivery.channel_plan = []
    final = DeliveryStatus.SUPPRESSED if reason == "opted out" else DeliveryStatus.FAILED
    record_status(session, delivery, final, reason[:500])
