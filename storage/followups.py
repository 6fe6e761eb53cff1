"""Follow-up queues, cases and their activity trail."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import Activity, Contact, FollowUp, FollowUpStatus, Queue, Response
from storage.types import utcnow

DEFAULT_SLA_MINUTES = 24 * 60


def queue_by_key(session: Session, key: str) -> Queue | None:
    return session.exec(select(Queue).where(Queue.key == key)).first()


def queue_key_of(session: Session, queue_id: int) -> str | None:
    return session.exec(select(Queue.key).where(Queue.id == queue_id)).first()


def ensure_queue(session: Session, key: str) -> Queue:
    """The queue named by a routing rule, created with defaults on first use."""
    queue = queue_by_key(session, key)
    if queue is not None:
        return queue
    try:
        with session.begin_nested():
            queue = Queue(key=key, name=key.replace("-", " ").capitalize(), sla_minutes=DEFAULT_SLA_MINUTES)
            session.add(queue)
    except sa.exc.IntegrityError:
        queue = queue_by_key(session, key)
        assert queue is not None
    return queue


def list_queues(session: Session) -> list[Queue]:
    return list(session.exec(select(Queue).order_by(Queue.key)).all())


def followup_for_response(session: Session, response_id: int) -> FollowUp | None:
    return session.exec(select(FollowUp).where(FollowUp.response_id == response_id)).first()


def open_followup(
    session: Session,
    *,
    response_id: int,
    delivery_id: int,
    contact_id: int,
    channel: str,
    queue: Queue,
    priority: str,
    sla: timedelta | None,
    reason: str,
) -> FollowUp:
    now = utcnow()
    assert queue.id is not None
    followup = FollowUp(
        response_id=response_id,
        delivery_id=delivery_id,
        queue_id=queue.id,
        contact_id=contact_id,
        channel=channel,
        priority=priority,
        due_at=now + (sla if sla is not None else timedelta(minutes=queue.sla_minutes)),
        reason=reason[:255],
        created_at=now,
        updated_at=now,
    )
    session.add(followup)
    session.flush()
    add_activity(session, followup, "opened", None, reason)
    return followup


def add_activity(
    session: Session,
    followup: FollowUp,
    kind: str,
    actor: str | None,
    text: str | None = None,
    message_id: int | None = None,
    detail: str | None = None,
) -> Activity:
    """An entry in the case's trail; it also moves the case's revision, so its alert card is drawn again."""
    assert followup.id is not None
    now = utcnow()
    activity = Activity(followup_id=followup.id, kind=kind, actor=actor, text=text, message_id=message_id,
                        detail=detail[:320] if detail else detail, at=now)
    followup.updated_at = now
    session.add(followup)
    session.add(activity)
    session.flush()
    return activity


def activities(session: Session, followup_id: int) -> list[Activity]:
    return list(session.exec(select(Activity).where(Activity.followup_id == followup_id).order_by(Activity.id)).all())


def open_case_for(session: Session, contact_ids: list[int], channel: str) -> FollowUp | None:
    """The newest unresolved case with this contact on this channel (where they answered, or where the agent
    last wrote to them): where their replies are threaded."""
    return session.exec(
        select(FollowUp)
        .where(
            col(FollowUp.contact_id).in_(contact_ids),
            sa.or_(FollowUp.channel == channel, FollowUp.reply_channel == channel),
            FollowUp.status != FollowUpStatus.RESOLVED,
        )
        .order_by(col(FollowUp.id).desc())
    ).first()


def open_case_of_delivery(session: Session, delivery_id: int) -> FollowUp | None:
    """The unresolved case opened by this survey's answer: a reply naming the survey (an email's reply+TOKEN
    address, on an agent's message) after the survey closed belongs there."""
    return session.exec(
        select(FollowUp).where(FollowUp.delivery_id == delivery_id, FollowUp.status != FollowUpStatus.RESOLVED)
    ).first()


def mark_breached(session: Session, now: datetime, limit: int) -> int:
    """Cases past their SLA get one `sla_breached` entry in their trail, so the breach is visible and counted."""
    rows = session.exec(
        select(FollowUp)
        .where(FollowUp.status != FollowUpStatus.RESOLVED, FollowUp.due_at < now, FollowUp.breached_at.is_(None))
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for followup in rows:
        followup.breached_at = now
        add_activity(session, followup, "sla_breached", None, f"due {followup.due_at.isoformat()}")
    session.commit()
    return len(rows)


def case_with_context(session: Session, followup_id: int) -> tuple[FollowUp, Queue, Response, Contact] | None:
    """A case with its queue, the answer that opened it and the customer, in one query."""
    row = session.exec(
        select(FollowUp, Queue, Response, Contact)
        .join(Queue, col(Queue.id) == FollowUp.queue_id)
        .join(Response, col(Response.id) == FollowUp.response_id)
        .join(Contact, col(Contact.id) == FollowUp.contact_id)
        .where(FollowUp.id == followup_id)
    ).first()
    return tuple(row) if row is not None else None  # type: ignore[return-value]


def breaches_to_escalate(session: Session, now: datetime, since: datetime, limit: int) -> list[int]:
    """Unresolved cases that breached their SLA since `since` and are not escalated yet, in queues that escalate
    (a lead to tell or someone to hand overdue cases to)."""
    rows = session.exec(
        select(FollowUp.id)
        .join(Queue, col(Queue.id) == FollowUp.queue_id)
        .where(
            FollowUp.status != FollowUpStatus.RESOLVED,
            FollowUp.due_at < now,
            col(FollowUp.breached_at) >= since,
            col(FollowUp.escalated_at).is_(None),
            sa.or_(col(Queue.lead_email).is_not(None), col(Queue.overdue_assignee).is_not(None)),
        )
        .order_by(col(FollowUp.due_at))
        .limit(limit)
    ).all()
    return [followup_id for followup_id in rows if followup_id is not None]


def claim_escalation(session: Session, followup_id: int, now: datetime) -> bool:
    """A conditional update: exactly one worker escalates a given breach."""
    done = session.execute(
        sa.update(FollowUp).where(FollowUp.id == followup_id, col(FollowUp.escalated_at).is_(None))
        .values(escalated_at=now)
    )
    return done.rowcount == 1
