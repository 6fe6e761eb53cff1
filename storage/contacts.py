"""Contacts and their per-channel consent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage.models import ChannelConsent, Contact
from storage.types import utcnow
from storage.upsert import insert_or_merge

_ADDRESS_COLUMNS = {
    "sms": "phone",
    "whatsapp": "phone",
    "email": "email",
    "slack": "slack_user_id",
    "web": "external_id",
}


def upsert_contact(session: Session, external_id: str, fields: dict[str, Any]) -> tuple[Contact, bool]:
    """The contact, created if new (True) or updated with the fields the caller sent; absent fields stay.

    INSERT ... ON CONFLICT DO NOTHING, so two events for a new contact arriving at once cannot both create it.
    """
    given = {name: value for name, value in fields.items() if value is not None}
    now = utcnow()
    insert = insert_or_merge(session.connection(), Contact).values(
        external_id=external_id, **{"attributes": {}, **given}, created_at=now, updated_at=now
    )
    inserted = session.scalars(insert.on_conflict_do_nothing(index_elements=["external_id"]).returning(Contact))
    contact = inserted.first()
    if contact is not None:
        return contact, True
    contact = session.exec(select(Contact).where(Contact.external_id == external_id)).one()
    _merge(contact, given, now)
    return contact, False


def _merge(contact: Contact, given: dict[str, Any], now: datetime) -> None:
    changed = False
    for name, value in given.items():
        if name == "attributes":
            value = {**(contact.attributes or {}), **value}
        if getattr(contact, name) != value:
            setattr(contact, name, value)
            changed = True
    if changed:
        contact.updated_at = now


def contact_by_external_id(session: Session, external_id: str) -> Contact | None:
    return session.exec(select(Contact).where(Contact.external_id == external_id)).first()


def contacts_at_address(session: Session, channel: str, address: str) -> list[Contact]:
    column = getattr(Contact, _ADDRESS_COLUMNS[channel])
    value = address.removeprefix("whatsapp:") if channel == "whatsapp" else address
    return list(session.exec(select(Contact).where(column == value).order_by(Contact.id)).all())


def opted_out_channels(session: Session, contact_id: int) -> set[str]:
    rows = session.exec(
        select(ChannelConsent.channel).where(
            ChannelConsent.contact_id == contact_id, ChannelConsent.opted_out_at.is_not(None)
        )
    ).all()
    return set(rows)


def opted_out_of_any(session: Session, contact_ids: list[int]) -> set[str]:
    """Channels that any of these contacts (people sharing an address) opted out of."""
    rows = session.exec(
        select(ChannelConsent.channel).where(
            col(ChannelConsent.contact_id).in_(contact_ids), ChannelConsent.opted_out_at.is_not(None)
        )
    ).all()
    return set(rows)


def opted_out_by_contact(session: Session, contact_ids: list[int]) -> dict[int, set[str]]:
    rows = session.exec(
        select(ChannelConsent.contact_id, ChannelConsent.channel).where(
            col(ChannelConsent.contact_id).in_(contact_ids), ChannelConsent.opted_out_at.is_not(None)
        )
    ).all()
    result: dict[int, set[str]] = {}
    for contact_id, channel in rows:
        result.setdefault(contact_id, set()).add(channel)
    return result


def is_opted_out(session: Session, contact_id: int, channel: str) -> bool:
    return channel in opted_out_channels(session, contact_id)


def set_opt_out(session: Session, contact_id: int, channel: str, at: datetime | None, source: str) -> None:
    """Record an opt-out (at given) or an opt-in (at None) for one channel."""
    consent = session.exec(
        select(ChannelConsent).where(ChannelConsent.contact_id == contact_id, ChannelConsent.channel == channel)
    ).first()
    if consent is None:
        consent = ChannelConsent(contact_id=contact_id, channel=channel)
    consent.opted_out_at = at
    consent.source = source
    consent.updated_at = utcnow()
    session.add(consent)
    session.flush()


def learn_address(session: Session, contact_id: int, channel: str, address: str) -> None:
    """A provider found the contact's address on a channel (a Slack user by email): keep it, so their replies
    are recognised and later sends skip the lookup. An address the contact already has is never replaced."""
    column = _ADDRESS_COLUMNS.get(channel)
    contact = session.get(Contact, contact_id)
    if column and contact is not None and not getattr(contact, column):
        setattr(contact, column, address)
        session.add(contact)
