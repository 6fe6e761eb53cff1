"""Closing the loop, measured: "did we fix it?" a set time after a case is resolved (a queue's choice).

The re-survey is an ordinary survey for the worker (scheduled, quiet hours, opt-outs, fallbacks, expiry), on the
channel the customer answered on, asking the case's own question again, after a line that says why. It is made
from the case's flow version and a copy of its event's properties, so its texts render as the first survey's did.
It names its case (`recheck_of`), which keeps it and its answer out of the flow's metrics (storage.tallies), out
of the throttle check before sending (the first survey would always hold it back) and away from routing: its
answer goes to the case's trail, and a detractor's reopens the case (bot.followups.record_recheck_answer).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlmodel import Session

from storage.cases import rechecks_not_sent
from storage.deliveries import NewDelivery, create_delivery, record_status
from storage.models import Delivery, DeliveryStatus, Event, FollowUp, Queue
from storage.types import utcnow

RECHECK_EVENT = "touchpoint.case_resolved"


def schedule_recheck(session: Session, followup: FollowUp) -> Delivery | None:
    """The re-survey of a case just resolved, when its queue asks for one; None otherwise."""
    queue = session.get(Queue, followup.queue_id)
    if queue is None or queue.recheck_after_minutes is None:
        return None
    first = session.get(Delivery, followup.delivery_id)
    assert first is not None and followup.id is not None
    original = session.get(Event, first.event_id)
    now = utcnow()
    event = Event(type=RECHECK_EVENT, contact_id=followup.contact_id,
                  properties=dict(original.properties or {}) if original else {},
                  idempotency_key=f"touchpoint:recheck:{followup.id}:{secrets.token_hex(8)}",
                  occurred_at=now, received_at=now)
    session.add(event)
    session.flush()
    assert event.id is not None
    plan = [followup.channel, *(c for c in first.channel_plan if c != followup.channel)]
    created = create_delivery(session, NewDelivery(
        event_id=event.id, flow_id=first.flow_id, flow_key=first.flow_key, contact_id=followup.contact_id,
        channel=followup.channel, channel_plan=plan, due_at=now + timedelta(minutes=queue.recheck_after_minutes),
        token=secrets.token_urlsafe(18), recheck_of=followup.id,
    ), f"did we fix it? for case {followup.id}")
    return session.get(Delivery, created.id)


def cancel_rechecks(session: Session, followup_id: int, reason: str) -> int:
    """Re-surveys of the case not sent yet are cancelled (the case was reopened: it is not fixed)."""
    waiting = rechecks_not_sent(session, followup_id)
    for delivery in waiting:
        delivery.conversation = "closed"
        record_status(session, delivery, DeliveryStatus.CANCELLED, reason)
    return len(waiting)
