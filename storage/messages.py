"""Messages in and out. Inbound messages are stored raw before anything else touches them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import HeldStatus, Message
from storage.types import utcnow
from storage.upsert import InsertIgnoring

_MESSAGES = Message.__table__  # type: ignore[attr-defined]
_INSERT_INBOUND = InsertIgnoring(_MESSAGES, ["channel", "direction", "provider_message_id"], list(_MESSAGES.c))
_INBOUND_BY_PROVIDER_ID = sa.select(_MESSAGES).where(
    _MESSAGES.c.channel == sa.bindparam("channel"),
    _MESSAGES.c.direction == "in",
    _MESSAGES.c.provider_message_id == sa.bindparam("provider_message_id"),
)
_BY_ID = sa.select(_MESSAGES).where(_MESSAGES.c.id == sa.bindparam("id"))
_MARK_PROCESSED = (
    sa.update(_MESSAGES)
    .where(_MESSAGES.c.id == sa.bindparam("message_id"), _MESSAGES.c.processed_at.is_(None))
    .values(
        processed_at=sa.bindparam("processed_at"),
        kind=sa.bindparam("kind"),
        delivery_id=sa.bindparam("delivery_id"),
        contact_id=sa.bindparam("contact_id"),
    )
)
_INSERT_OUTBOUND = sa.insert(_MESSAGES).returning(_MESSAGES.c.id)
_MESSAGE_FIELDS = [column.name for column in _MESSAGES.c if column.name != "id"]


def store_inbound(
    session: Session,
    channel: str,
    address: str,
    text: str,
    provider_message_id: str,
    raw: dict[str, Any],
    delivery_id: int | None = None,
    transport: str = "",
) -> tuple[Message, bool]:
    """Insert a received message once per provider id; returns (message, is_new).

    Providers retry webhooks, so the same id arriving twice must not be answered twice. One
    INSERT ... ON CONFLICT DO NOTHING decides, even for two copies arriving at the same moment.
    `delivery_id` is given when the message names its survey itself (a link's token), not by address.
    The message returned is not attached to the session: `mark_processed` records what became of it.
    """
    values = {name: None for name in _MESSAGE_FIELDS} | {
        "direction": "in", "channel": channel, "address": address, "text": text,
        "provider_message_id": provider_message_id, "raw": raw, "kind": "", "transport": transport,
        "created_at": utcnow(), "delivery_id": delivery_id,
    }
    inserted = _INSERT_INBOUND.run(session, values)
    if inserted is not None:
        return Message(**inserted._mapping), True
    connection = session.connection()
    existing = connection.execute(
        _INBOUND_BY_PROVIDER_ID, {"channel": channel, "provider_message_id": provider_message_id}
    ).one()
    return Message(**existing._mapping), False


class AlreadyProcessed(Exception):
    """Another transaction processed this message first; this one must roll back."""


def message_by_id(session: Session, message_id: int) -> Message | None:
    row = session.connection().execute(_BY_ID, {"id": message_id}).first()
    return None if row is None else Message(**row._mapping)


def mark_processed(
    session: Session, message: Message, kind: str, delivery_id: int | None, contact_id: int | None
) -> None:
    """Record what became of the message, only if no one did yet. The UPDATE takes the row lock: a concurrent
    transaction doing the same waits for this one's end, then finds the message processed and raises."""
    message.processed_at = utcnow()
    message.kind, message.delivery_id, message.contact_id = kind, delivery_id, contact_id
    done = session.connection().execute(
        _MARK_PROCESSED,
        {"message_id": message.id, "processed_at": message.processed_at, "kind": kind, "delivery_id": delivery_id,
         "contact_id": contact_id},
    )
    if done.rowcount != 1:
        raise AlreadyProcessed(message.id)


def insert_outbound(session: Session, message: Message) -> Message:
    """One message out, in one constant INSERT; the given object gets its id and stays unattached."""
    values = {name: getattr(message, name) for name in _MESSAGE_FIELDS}
    message.id = session.connection().execute(_INSERT_OUTBOUND, values).scalar_one()
    return message


def unprocessed_inbound(session: Session, older_than: datetime, limit: int) -> list[int]:
    """Inbound messages whose processing failed earlier: retried so that no answer is lost."""
    rows = session.exec(
        select(Message.id)
        .where(Message.direction == "in", Message.processed_at.is_(None), Message.created_at < older_than)
        .order_by(Message.id)
        .limit(limit)
    ).all()
    return [r for r in rows if r is not None]


def messages_of_delivery(session: Session, delivery_id: int) -> list[Message]:
    return list(session.exec(select(Message).where(Message.delivery_id == delivery_id).order_by(Message.id)).all())


def outbound_by_provider_id(session: Session, channel: str, provider_message_id: str) -> Message | None:
    """The message a provider's status callback is about, locked so two callbacks apply in turn."""
    return session.exec(
        select(Message)
        .where(Message.channel == channel, Message.direction == "out",
               Message.provider_message_id == provider_message_id)
        .with_for_update()
    ).first()


def last_inbound_at(session: Session, channel: str, addresses: list[str]) -> dict[str, datetime]:
    """When each address last wrote to us on the channel (WhatsApp's session window)."""
    rows = session.exec(
        select(Message.address, sa.func.max(Message.created_at))
        .where(Message.channel == channel, Message.direction == "in", col(Message.address).in_(addresses))
        .group_by(Message.address)
    ).all()
    return {address: at for address, at in rows if at is not None}


def hold_status(session: Session, channel: str, provider_message_id: str, report: dict[str, Any]) -> None:
    session.add(HeldStatus(channel=channel, provider_message_id=provider_message_id, report=report))


def held_statuses(session: Session, limit: int) -> list[HeldStatus]:
    """Held reports, oldest first, locked so that one worker applies each."""
    query = select(HeldStatus).order_by(col(HeldStatus.id)).limit(limit).with_for_update(skip_locked=True)
    return list(session.exec(query).all())
