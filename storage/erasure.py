"""Erasing a contact's personal data on request, keeping the anonymous numbers that metrics are made of."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.deliveries import record_status
from storage.models import (
    Activity,
    ChannelConsent,
    Contact,
    ContactAddress,
    Delivery,
    DeliveryStatus,
    Event,
    FollowUp,
    Message,
    Response,
)
from storage.webhooks import forget_contact_messages

_OPEN = [DeliveryStatus.SCHEDULED, DeliveryStatus.CLAIMED, DeliveryStatus.SENDING, DeliveryStatus.SENT,
         DeliveryStatus.DELIVERED, DeliveryStatus.ANSWERED, DeliveryStatus.UNKNOWN]


def erase_contact(
    session: Session, external_id: str, provider_addresses: Callable[[Mapping[str, str]], Iterable[str]]
) -> bool:
    """Scores, bands, sentiment labels and statuses stay; names, addresses, texts and payloads go.

    `provider_addresses` gives the addresses messages carry for the contact's stored ones (a WhatsApp message's
    `whatsapp:+44...`): messages that reached no contact are found by them.

    Open surveys are cancelled. The contact row stays (answers point at it) under the name `erased:<id>`,
    so the same external id can come back later as a new contact.
    """
    contact = session.exec(select(Contact).where(Contact.external_id == external_id)).first()
    if contact is None:
        return False
    contact_id = contact.id
    for delivery in session.exec(
        select(Delivery).where(Delivery.contact_id == contact_id, col(Delivery.status).in_([str(s) for s in _OPEN]))
    ):
        record_status(session, delivery, DeliveryStatus.CANCELLED, "contact erased")
    session.flush()
    cases = select(FollowUp.id).where(FollowUp.contact_id == contact_id).scalar_subquery()
    stored = contact.addresses
    addresses = {*stored.values(), *provider_addresses(stored)}
    mine = sa.or_(Message.contact_id == contact_id, col(Message.address).in_(addresses))
    statements = [
        sa.update(Activity).where(col(Activity.followup_id).in_(cases)).values(text=None),
        sa.update(Message).where(mine).values(text="", raw=None, address="erased"),
        sa.update(Response).where(Response.contact_id == contact_id).values(comment=None, themes=[]),
        sa.update(Event).where(Event.contact_id == contact_id).values(properties={}),
        sa.delete(ChannelConsent).where(ChannelConsent.contact_id == contact_id),
        sa.delete(ContactAddress).where(col(ContactAddress.contact_id) == contact_id),
    ]
    for statement in statements:
        session.execute(statement)
    forget_contact_messages(session, contact_id or 0)
    contact.external_id = f"erased:{contact_id}"
    session.expire(contact, ["address_rows"])
    contact.name = None
    contact.locale = contact.timezone = None
    contact.attributes = {}
    session.add(contact)
    return True
