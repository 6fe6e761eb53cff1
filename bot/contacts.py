"""Contacts for admins: search, a contact's surveys and consent per channel, opting a channel back in where the
law allows it, the export of everything held about them (GDPR access) and erasure. Consent changes, exports and
erasures are audited.

Opt-outs are stored per channel with their source: `reply` (the customer sent STOP or another opt-out word),
`email link` (the unsubscribe page), `email mailto` (the List-Unsubscribe email), `provider` (a bounce or a
complaint on email, a carrier's or Twilio's block on SMS and WhatsApp). After a STOP on SMS or WhatsApp only the
customer can opt in again, by texting START: carriers (and Twilio, which blocks the number itself) require it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.audit import record
from bot.errors import NotFound, ServiceError
from channels.registry import ADDRESS_KINDS, CHANNEL_NAMES, channel_class, normalize_address, provider_addresses
from storage.contact_admin import consents, contact_deliveries, rows_about, search_contacts
from storage.contacts import contact_by_external_id, set_opt_out
from storage.erasure import erase_contact
from storage.models import ChannelConsent, Contact, Delivery, Response

ADMIN_SOURCE = "admin"
TEXTED_CHANNELS = ("sms", "whatsapp")  # where an opt-out is the carrier's business: START from the customer only
SOURCES = {
    "reply": "replied with an opt-out word (STOP)",
    "email link": "the unsubscribe link",
    "email mailto": "the unsubscribe email (List-Unsubscribe)",
    "provider": "the provider: a bounce, a complaint or a carrier block",
    ADMIN_SOURCE: "an admin",
}


class ContactNotFound(NotFound):
    def __init__(self, contact_id: object) -> None:
        super().__init__("contact", contact_id)


class OptInRefused(ServiceError):
    """The channel cannot be opted back in by an admin (only the customer can, or it was not opted out)."""

    field = "channel"


class AlreadyErased(ServiceError):
    pass


@dataclass(frozen=True)
class Consent:
    channel: str
    address: str | None
    opted_out_at: datetime | None
    source: str | None
    updated_at: datetime | None

    @property
    def how(self) -> str:
        return SOURCES.get(self.source or "", self.source or "")

    @property
    def admin_may_opt_in(self) -> bool:
        return self.opted_out_at is not None and not self.customer_must_opt_in

    @property
    def customer_must_opt_in(self) -> bool:
        return self.opted_out_at is not None and self.channel in TEXTED_CHANNELS and self.source in ("reply",
                                                                                                     "provider")


@dataclass(frozen=True)
class Survey:
    delivery: Delivery
    response: Response | None
    case_id: int | None


@dataclass(frozen=True)
class ContactView:
    contact: Contact
    surveys: list[Survey]
    consents: list[Consent]


def search(session: Session, text: str) -> list[Contact]:
    """By the start of an external id or name, or a whole phone number or email address as stored."""
    text = text.strip()
    if not text:
        return []
    addresses = []
    for kind in ADDRESS_KINDS:
        try:
            addresses.append((kind, normalize_address(kind, text)))
        except ValueError:
            continue
    return search_contacts(session, text, addresses)


def _contact(session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id) if 0 < contact_id < 2**31 else None
    if contact is None:
        raise ContactNotFound(contact_id)
    return contact


def _consent(channel: str, address: str | None, row: ChannelConsent | None) -> Consent:
    return Consent(channel, address, row.opted_out_at if row else None, row.source if row else None,
                   row.updated_at if row else None)


def contact_view(session: Session, contact_id: int) -> ContactView:
    contact = _contact(session, contact_id)
    stored = consents(session, contact_id)
    addresses = contact.addresses
    shown = []
    for channel in CHANNEL_NAMES:
        kind = channel_class(channel).address_kind
        address = addresses.get(kind) if kind else contact.external_id
        if address is not None or channel in stored:
            shown.append(_consent(channel, address, stored.get(channel)))
    surveys = [Survey(*row) for row in contact_deliveries(session, contact_id)]
    return ContactView(contact, surveys, shown)


def opt_in(session: Session, contact_id: int, channel: str, *, actor: str) -> Consent:
    """Opt the channel back in for the contact, on their request to an admin; refused after a STOP on SMS or
    WhatsApp (the customer texts START) and where they are not opted out."""
    contact = _contact(session, contact_id)
    row = consents(session, contact_id).get(channel)
    before = _consent(channel, None, row)
    if before.opted_out_at is None:
        raise OptInRefused(f"{contact.external_id} is not opted out of {channel}")
    if before.customer_must_opt_in:
        raise OptInRefused(f"the customer must text START to opt in to {channel} again")
    set_opt_out(session, contact_id, channel, None, ADMIN_SOURCE, actor=actor)
    return _consent(channel, None, consents(session, contact_id).get(channel))


def export(session: Session, contact_id: int, *, actor: str) -> dict[str, Any]:
    """Every row held about the contact, by table (GDPR access); the export itself is audited."""
    contact = _contact(session, contact_id)
    stored = contact.addresses
    rows = rows_about(session, contact_id, {*stored.values(), *provider_addresses(stored)})
    record(session, actor, "contact", f"#{contact_id}", "exported")
    return {"contact_id": contact_id, "tables": rows}


def erase(session: Session, contact_id: int, *, actor: str) -> None:
    """The existing erasure: personal data goes, the anonymous figures stay."""
    contact = _contact(session, contact_id)
    if contact.external_id.startswith("erased:"):
        raise AlreadyErased(f"contact #{contact_id} is already erased")
    erase_contact(session, contact.external_id, provider_addresses)
    record(session, actor, "contact", f"#{contact_id}", "erased")


def erase_by_external_id(session: Session, external_id: str, *, actor: str) -> None:
    contact = contact_by_external_id(session, external_id)
    if contact is None or contact.id is None:
        raise ContactNotFound(external_id)
    erase(session, contact.id, actor=actor)
