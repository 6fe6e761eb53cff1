"""Contacts and their per-channel consent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage.models import ChannelConsent, Contact
from storage.types import utcnow

_ADDRESS_COLUMNS = {
    "sms": "phone",
    "whatsapp": "phone",
    "email": "email",
    "slack": "slack_user_id",
    "web": "external_id",
}


def upsert_contact(session: Session, external_id: str, fields: dict[str, Any]) -> Contact:
    """Create the contact or update the fields the caller sent; absent fields are left as they were."""
    contact = session.exec(select(Contact).where(Contact.external_id == external_id)).first()
    if contact is None:
        contact = Contact(external_id=external_id)
    for name, value in fields.items():
        if name == "attributes":
            contact.attributes = {**(contact.attributes or {}), **(value or {})}
        elif value is not None:
            setattr(contact, name, value)
    contact.updated_at = utcnow()
    session.add(contact)
    session.flush()
    return contact


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
