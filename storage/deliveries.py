"""Deliveries: creation, the status trail, and the claims that keep many workers from double-sending."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.funnel import count_new, note_deliveries, settle_answered
from storage.models import (
    CONTACTED_STATUSES,
    OPEN_STATUSES,
    Contact,
    Delivery,
    DeliveryStatus,
    Event,
    StatusChange,
)
from storage.pacing import free_slots, take_slots
from storage.types import UTCDateTime, utcnow

# A delivery with what answering it needs besides its flow version: its event and its contact.
AnswerContext = tuple[Delivery, Event, Contact]


@dataclass
class NewDelivery:
    """What ingestion decides for one flow: a plain object, as a table model costs more to build than the
    INSERT (`create_delivery` gives it its id). Columns it leaves out start at their defaults."""

    event_id: int
    flow_id: int
    flow_key: str
    contact_id: int
    channel: str
    channel_plan: list[str]
    due_at: datetime
    token: str
    status: str = DeliveryStatus.SCHEDULED
    created_at: datetime = field(default_factory=utcnow)
    recheck_of: int | None = None  # the case a "did we fix it?" survey asks about
    is_test: bool = False  # an admin's test send, counted nowhere
    id: int | None = None


_DELIVERIES = Delivery.__table__  # type: ignore[attr-defined]
_DELIVERY_FIELDS = [column.name for column in _DELIVERIES.c if column.name != "id"]
_NEW_FIELDS = [name for name in NewDelivery.__dataclass_fields__ if name != "id"]
# The other columns of a new delivery: their scalar defaults (attempts 0, ...), or NULL.
_FRESH = {
    column.name: column.default.arg if column.default is not None and column.default.is_scalar else None
    for column in _DELIVERIES.c
    if column.name not in ("id", "updated_at", *_NEW_FIELDS)
}
_STATUSES = StatusChange.__table__  # type: ignore[attr-defined]
_INSERT_DELIVERY = (
    sa.insert(_DELIVERIES).values({name: sa.bindparam(name) for name in _DELIVERY_FIELDS}).returning(_DELIVERIES.c.id)
)
_INSERT_STATUS = sa.insert(_STATUSES)
_FIRST_STATUS = {"delivery_id": "id", "status": "status", "channel": "channel", "at": "created_at"}
# PostgreSQL takes both INSERTs in one statement (a data-modifying WITH); SQLite runs them one after the other.
_NEW_DELIVERY = _INSERT_DELIVERY.returning(*(_DELIVERIES.c[name] for name in _FIRST_STATUS.values())).cte("new")
_INSERT_DELIVERY_WITH_STATUS = (
    sa.insert(_STATUSES)
    .from_select(
        [*_FIRST_STATUS, "detail"],
        sa.select(*(_NEW_DELIVERY.c[name] for name in _FIRST_STATUS.values()), sa.bindparam("detail", type_=sa.String)),
    )
    .returning(_STATUSES.c.delivery_id)
)
_STATE = ("status", "conversation", "reprompts", "answered_at", "comment_until", "updated_at", "funnel_tally")
_SAVE_CONVERSATION = (
    sa.update(_DELIVERIES)
    .where(_DELIVERIES.c.id == sa.bindparam("delivery_id"))
    .values({name: sa.bindparam(name) for name in _STATE})
)
_EVENTS, _CONTACTS = Event.__table__, Contact.__table__  # type: ignore[attr-defined]
_DELIVERY_NAMES = [c.name for c in _DELIVERIES.c]
_EVENT_NAMES = [c.name for c in _EVENTS.c]
_CONTACT_NAMES = [c.name for c in _CONTACTS.c]
_EVENT_AT, _CONTACT_AT = len(_DELIVERY_NAMES), len(_DELIVERY_NAMES) + len(_EVENT_NAMES)
_CONTEXT = (
    sa.select(*_DELIVERIES.c, *_EVENTS.c, *_CONTACTS.c)
    .join_from(_DELIVERIES, _EVENTS, _EVENTS.c.id == _DELIVERIES.c.event_id)
    .join(_CONTACTS, _CONTACTS.c.id == _DELIVERIES.c.contact_id)
    .with_for_update(of=_DELIVERIES)
)
_CONTEXT_BY_ID = _CONTEXT.where(_DELIVERIES.c.id == sa.bindparam("delivery_id"))
_CONTEXT_BY_TOKEN = _CONTEXT.where(_DELIVERIES.c.token == sa.bindparam("token"))
_UNKNOWN = _DELIVERIES.c.status == str(DeliveryStatus.UNKNOWN)
# A survey being sent comes first (its send is not recorded yet), one whose send is unknown last.
_OPEN_CONTEXT = _CONTEXT.where(
    _DELIVERIES.c.contact_id.in_(sa.bindparam("contact_ids", expanding=True)),
    _DELIVERIES.c.channel == sa.bindparam("channel"),
    _DELIVERIES.c.status.in_([str(s) for s in OPEN_STATUSES]),
    _DELIVERIES.c.conversation != "closed",
    sa.or_(~_UNKNOWN, _DELIVERIES.c.expires_at > sa.bindparam("now", type_=UTCDateTime)),
).order_by(_UNKNOWN, _DELIVERIES.c.sent_at.desc().nulls_first(), _DELIVERIES.c.id.desc())
_CLAIM = (
    sa.update(_DELIVERIES)
    .where(_DELIVERIES.c.id.in_(sa.bindparam("ids", expanding=True)))
    .values(status=str(DeliveryStatus.CLAIMED), attempts=_DELIVERIES.c.attempts + 1,
            lease_until=sa.bindparam("lease"), updated_at=sa.bindparam("now"))
)
# The call-started mark: only while this worker's claim (its lease) still holds the deliveries.
_START = (
    sa.update(_DELIVERIES)
    .where(
        _DELIVERIES.c.id.in_(sa.bindparam("ids", expanding=True)),
        _DELIVERIES.c.status == str(DeliveryStatus.CLAIMED),
        _DELIVERIES.c.lease_until == sa.bindparam("claim", type_=UTCDateTime),
    )
    .values(status=str(DeliveryStatus.SENDING), lease_until=sa.bindparam("lease"),
            expires_at=sa.bindparam("expires"), updated_at=sa.bindparam("now"))
    .returning(_DELIVERIES.c.id, _DELIVERIES.c.channel, _DELIVERIES.c.attempts)
)


def record_status(
    session: Session, delivery: Delivery, status: DeliveryStatus | str, detail: str | None = None
) -> None:
    """Move a delivery to a status and keep the transition in its trail."""
    delivery.status = str(status)
    delivery.updated_at = utcnow()
    session.add(delivery)
    record_trail(session, delivery, status, detail)


def record_trail(session: Session, delivery: Delivery, status: DeliveryStatus | str, detail: str | None) -> None:
    """An entry in the delivery's trail alone, for a step that does not change its status."""
    session.add(
        StatusChange(delivery_id=delivery.id, status=str(status), channel=delivery.channel, detail=detail, at=utcnow())
    )


def save_conversation(session: Session, delivery: Delivery, moves: list[tuple[DeliveryStatus, str | None]],
                      commented: bool | None = None) -> None:
    """Write a delivery read by `_with_context` (a copy the ORM does not track): its conversation state and the
    statuses it passed through, in order, in constant statements. `commented` says the delivery's answer is
    being recorded in this transaction, with or without a comment: its funnel step is known then."""
    now = utcnow()
    if moves:
        delivery.status = str(moves[-1][0])
    delivery.updated_at = now
    if commented is not None:
        settle_answered(session, delivery, commented)
    elif moves:
        note_deliveries(session, [delivery.id])
    connection = session.connection()
    connection.execute(_SAVE_CONVERSATION, {"delivery_id": delivery.id, **{n: getattr(delivery, n) for n in _STATE}})
    if moves:
        connection.execute(
            _INSERT_STATUS,
            [{"delivery_id": delivery.id, "status": str(status), "channel": delivery.channel, "detail": detail,
              "at": now} for status, detail in moves],
        )


def create_delivery(session: Session, delivery: NewDelivery, detail: str | None = None) -> NewDelivery:
    """The delivery and the first entry of its trail, in constant statements (no unit-of-work flush and no
    statement built per call on this hot path). Returns the one given, with its id."""
    connection = session.connection()
    values = {**_FRESH, **{name: getattr(delivery, name) for name in _NEW_FIELDS}, "updated_at": delivery.created_at}
    values["funnel_tally"] = count_new(session, delivery.created_at, delivery.flow_key, delivery.channel,
                                       delivery.status, delivery.is_test)
    if connection.dialect.name == "postgresql":
        delivery.id = connection.execute(_INSERT_DELIVERY_WITH_STATUS, {**values, "detail": detail}).scalar_one()
        return delivery
    delivery.id = connection.execute(_INSERT_DELIVERY, values).scalar_one()
    first = {column: getattr(delivery, name) for column, name in _FIRST_STATUS.items()}
    connection.execute(_INSERT_STATUS, {**first, "detail": detail})
    return delivery


def last_contacted_at(session: Session, contact_id: int) -> datetime | None:
    """When this contact was last surveyed or planned to be, across all flows, for the throttle.

    Just before sending, only surveys that went out count (see `last_sent_to_others`), so two
    deliveries waiting side by side cannot block each other.
    """
    return session.exec(
        select(sa.func.max(Delivery.created_at)).where(
            Delivery.contact_id == contact_id, col(Delivery.status).in_([str(s) for s in CONTACTED_STATUSES])
        )
    ).one()


def claim_due_deliveries(
    session: Session, now: datetime, limit: int, lease: timedelta, exclude: Collection[str] = ()
) -> list[int]:
    """Mark due deliveries `claimed` under a lease and commit, before any provider is called.

    On PostgreSQL the rows are taken FOR UPDATE SKIP LOCKED so concurrent workers claim disjoint sets.
    SQLite drops that clause; there the whole claim runs under the write lock (BEGIN IMMEDIATE).
    Channels in `exclude` are paced and claimed by `claim_paced_deliveries` instead. The lease (`now + lease`)
    also names the claim: `start_sending` and `release_claims` act only on deliveries still held by it.
    """
    where = [col(Delivery.channel).not_in(list(exclude))] if exclude else []
    ids = _claim(session, where, now, limit, lease)
    session.commit()
    return ids


def claim_paced_deliveries(
    session: Session, channel: str, pace: float, now: datetime, limit: int, lease: timedelta, horizon: timedelta
) -> dict[int, datetime]:
    """Claim only as many of a paced channel's due deliveries as its sender can send within the horizon;
    each gets its own send moment. Commits."""
    free = min(limit, free_slots(session, channel, pace, now, horizon))
    ids = _claim(session, [Delivery.channel == channel], now, free, lease) if free else []
    slots = dict(zip(ids, take_slots(session, channel, pace, now, len(ids)), strict=True))
    session.commit()
    return slots


def _claim(session: Session, where: list[Any], now: datetime, limit: int, lease: timedelta) -> list[int]:
    """No trail entry: a claim is the worker's bookkeeping; the trail shows the send when its call starts."""
    ids = list(
        session.exec(
            select(Delivery.id)
            .where(Delivery.status == DeliveryStatus.SCHEDULED, Delivery.due_at <= now, *where)
            .order_by(Delivery.due_at, Delivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
    )
    if ids:
        session.connection().execute(_CLAIM, {"ids": ids, "lease": now + lease, "now": now})
    return [i for i in ids if i is not None]


@dataclass(frozen=True)
class SendStart:
    """A claimed delivery about to be handed to its provider: the claim (lease) it was taken under, and how
    long its survey stays open after the send."""

    delivery_id: int
    claim: datetime
    expire_after: timedelta


def start_sending(session: Session, starts: list[SendStart], lease: timedelta) -> set[int]:
    """Mark claimed deliveries `sending` just before their provider calls (the caller commits before calling);
    returns those marked. Several at once share the statements and the commit.

    From this mark on, a worker that dies leaves a send that may have gone out (`unknown` after the lease);
    before it, a dead worker's claim is released. One not returned is no longer held by its claim (the lease
    ran out and it was released, or it was cancelled): it must not be sent. The expiry is counted from this
    attempt; it bounds the replies an `unknown` send can take.
    """
    now = utcnow()
    groups: dict[tuple[datetime, timedelta], list[int]] = {}
    for start in starts:
        groups.setdefault((start.claim, start.expire_after), []).append(start.delivery_id)
    connection = session.connection()
    started = []
    for (claim, expire_after), ids in groups.items():
        values = {"ids": ids, "claim": claim, "lease": now + lease, "expires": now + expire_after, "now": now}
        started += connection.execute(_START, values).all()
    if started:
        connection.execute(_INSERT_STATUS, [
            {"delivery_id": row.id, "status": str(DeliveryStatus.SENDING), "channel": row.channel,
             "detail": f"attempt {row.attempts}", "at": now} for row in started
        ])
    return {row.id for row in started}


def release_claims(session: Session, ids: list[int], claim: datetime, reason: str) -> int:
    """Claimed deliveries whose provider was never called go back to `scheduled`, due at once, their attempt
    not counted (as for quiet hours); the trail says why. Only those this claim still holds."""
    rows = session.exec(
        select(Delivery)
        .where(col(Delivery.id).in_(ids), Delivery.status == DeliveryStatus.CLAIMED, Delivery.lease_until == claim)
        .with_for_update()
    ).all()
    for delivery in rows:
        release(session, delivery, reason)
    return len(rows)


def release(session: Session, delivery: Delivery, reason: str) -> None:
    delivery.attempts -= 1
    delivery.lease_until = None
    record_status(session, delivery, DeliveryStatus.SCHEDULED, f"not sent: {reason}; attempt not counted")


def expire_leases(session: Session, now: datetime) -> tuple[int, int]:
    """Leases a dead (or stalled) worker left behind: a claim whose provider call never started goes back to
    the queue; a send whose call started may have gone out, so it becomes `unknown` and is never re-sent.
    Returns (released, unknown)."""
    rows = session.exec(
        select(Delivery)
        .where(col(Delivery.status).in_([DeliveryStatus.CLAIMED, DeliveryStatus.SENDING]), Delivery.lease_until < now)
        .with_for_update(skip_locked=True)
    ).all()
    released = 0
    for delivery in rows:
        if delivery.status == DeliveryStatus.CLAIMED:
            release(session, delivery, "the worker's claim ran out before the send")
            released += 1
        else:
            record_status(session, delivery, DeliveryStatus.UNKNOWN, "send lease expired; not re-sent")
    session.commit()
    return released, len(rows) - released


def due_reminders(session: Session, now: datetime, limit: int) -> list[int]:
    rows = session.exec(
        select(Delivery.id)
        .where(
            col(Delivery.status).in_([DeliveryStatus.SENT, DeliveryStatus.DELIVERED]),
            Delivery.conversation == "awaiting_score",
            Delivery.reminder_at <= now,
            Delivery.reminded_at.is_(None),
        )
        .limit(limit)
    ).all()
    return [r for r in rows if r is not None]


def claim_reminder(session: Session, delivery_id: int, now: datetime) -> bool:
    """A conditional update: exactly one worker wins the right to send a given reminder."""
    result = session.execute(
        sa.update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.reminded_at.is_(None))
        .values(reminded_at=now, updated_at=now)
    )
    session.commit()
    return result.rowcount == 1


def expire_unanswered(session: Session, now: datetime, limit: int) -> int:
    rows = session.exec(
        select(Delivery)
        .where(
            col(Delivery.status).in_([DeliveryStatus.SENT, DeliveryStatus.DELIVERED]),
            Delivery.expires_at <= now,
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for delivery in rows:
        delivery.conversation = "closed"
        record_status(session, delivery, DeliveryStatus.EXPIRED)
    session.commit()
    return len(rows)


def complete_lapsed_comments(session: Session, now: datetime, limit: int) -> int:
    """Answered deliveries whose comment window has passed are complete without a comment."""
    rows = session.exec(
        select(Delivery)
        .where(Delivery.status == DeliveryStatus.ANSWERED, Delivery.comment_until <= now)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for delivery in rows:
        delivery.conversation = "closed"
        record_status(session, delivery, DeliveryStatus.COMPLETED, "comment window closed")
    session.commit()
    return len(rows)


def delivery_by_token(session: Session, token: str) -> Delivery | None:
    return session.exec(select(Delivery).where(Delivery.token == token)).first()


def delivery_with_context(session: Session, delivery_id: int) -> AnswerContext | None:
    """One delivery, locked, with its event and contact."""
    return _with_context(session, _CONTEXT_BY_ID, {"delivery_id": delivery_id})


def delivery_with_context_by_token(session: Session, token: str) -> AnswerContext | None:
    """The same, found by the token a survey link or reply address carries."""
    return _with_context(session, _CONTEXT_BY_TOKEN, {"token": token})


def is_answerable(delivery: Delivery) -> bool:
    if delivery.status == DeliveryStatus.UNKNOWN and (delivery.expires_at is None or delivery.expires_at <= utcnow()):
        return False
    return delivery.status in OPEN_STATUSES and delivery.conversation != "closed"


def open_delivery_for(session: Session, contact_ids: list[int], channel: str) -> AnswerContext | None:
    """The newest delivery on this channel still waiting for a reply from one of these contacts, locked,
    with its event and contact (one query: a reply is answered while the customer waits). One whose send is
    `unknown` only when no other waits, and only until its expiry."""
    return _with_context(session, _OPEN_CONTEXT, {"contact_ids": contact_ids, "channel": channel, "now": utcnow()})


def record_reached(session: Session, delivery_id: int) -> None:
    """An `unknown` delivery the customer answered went out after all: it counts as sent from the start of its
    last send attempt. Through the ORM, so the daily sent tally counts it."""
    row = session.get(Delivery, delivery_id)
    assert row is not None
    started = session.exec(
        select(sa.func.max(StatusChange.at)).where(
            StatusChange.delivery_id == delivery_id, StatusChange.status == DeliveryStatus.SENDING
        )
    ).one()
    row.sent_at = started or utcnow()
    session.flush()
    session.expire(row)  # the caller writes the rest of the row with SQL


def _with_context(session: Session, query: Any, params: dict[str, Any]) -> AnswerContext | None:
    """Read with SQL and split by position: the ORM would cost more than the query on the answer path. All
    three are copies the session does not track; `save_conversation` writes the delivery's changes."""
    row = session.connection().execute(query, params).first()
    if row is None:
        return None
    delivery = Delivery(**dict(zip(_DELIVERY_NAMES, row[:_EVENT_AT], strict=True)))
    event = Event(**dict(zip(_EVENT_NAMES, row[_EVENT_AT:_CONTACT_AT], strict=True)))
    contact = Contact(**dict(zip(_CONTACT_NAMES, row[_CONTACT_AT:], strict=True)))
    return delivery, event, contact


def latest_expired_for(session: Session, contact_ids: list[int], channel: str) -> Delivery | None:
    return session.exec(
        select(Delivery)
        .where(
            col(Delivery.contact_id).in_(contact_ids),
            Delivery.channel == channel,
            Delivery.status == DeliveryStatus.EXPIRED,
        )
        .order_by(col(Delivery.id).desc())
    ).first()


def pending_deliveries(session: Session, contact_id: int, channel: str) -> list[Delivery]:
    """Deliveries not yet answered on a channel, which an opt-out must cancel (a claimed one too: its call has not
    started, and the worker will not start it)."""
    statuses = [DeliveryStatus.SCHEDULED, DeliveryStatus.CLAIMED, DeliveryStatus.SENT, DeliveryStatus.DELIVERED]
    return list(
        session.exec(
            select(Delivery).where(
                Delivery.contact_id == contact_id,
                Delivery.channel == channel,
                col(Delivery.status).in_([str(s) for s in statuses]),
            )
        ).all()
    )


def status_history(session: Session, delivery_id: int) -> list[StatusChange]:
    return list(
        session.exec(
            select(StatusChange).where(StatusChange.delivery_id == delivery_id).order_by(StatusChange.id)
        ).all()
    )


def deliveries_to_send(session: Session, ids: list[int]) -> list[tuple[Delivery, Contact, Event]]:
    """Claimed deliveries with their contact and event, in one query for the whole batch."""
    rows = session.exec(
        select(Delivery, Contact, Event)
        .join(Contact, col(Contact.id) == Delivery.contact_id)
        .join(Event, col(Event.id) == Delivery.event_id)
        .where(col(Delivery.id).in_(ids), Delivery.status == DeliveryStatus.CLAIMED)
        .order_by(Delivery.id)
    ).all()
    return [(d, c, e) for d, c, e in rows]


def deliveries_by_id(session: Session, ids: list[int | None]) -> dict[int | None, Delivery]:
    """A batch of deliveries in one query, locked and held by the caller while it works through them (a reply
    may be changing one of them at the same moment)."""
    query = select(Delivery).where(col(Delivery.id).in_([i for i in ids if i is not None])).order_by(Delivery.id)
    rows = session.exec(query.with_for_update()).all()
    return {delivery.id: delivery for delivery in rows}


def last_sent_to_others(session: Session, delivery_ids: list[int]) -> dict[int, datetime]:
    """For each delivery, when its contact was last sent another survey, for the throttle check just before
    sending. Its own earlier sends do not count: a survey moving to its next channel is not a new survey."""
    other = sa.orm.aliased(Delivery)
    rows = session.exec(
        select(Delivery.id, sa.func.max(other.sent_at))
        .join(other, sa.and_(other.contact_id == Delivery.contact_id, other.id != Delivery.id))
        .where(col(Delivery.id).in_(delivery_ids), other.sent_at.is_not(None))
        .group_by(Delivery.id)
    ).all()
    return {delivery_id: at for delivery_id, at in rows if delivery_id is not None and at is not None}
