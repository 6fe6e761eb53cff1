"""Contacts and their per-channel consent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from sqlmodel import Session, col, select

from storage.audit import add_entry
from storage.models import ChannelConsent, Contact, ContactAddress
from storage.types import utcnow
from storage.upsert import INSERTS, InsertIgnoring
from storage.webhooks import enqueue

_CONTACTS = Contact.__table__  # type: ignore[attr-defined]
_INSERT_CONTACT = InsertIgnoring(_CONTACTS, ["external_id"], list(_CONTACTS.c))
_NEW_CONTACT: dict[str, Any] = {c.name: None for c in _CONTACTS.c if c.name != "id"} | {"attributes": {}}
_CONTACT_NAMES = [column.name for column in _CONTACTS.c]
_ADDRESSES = ContactAddress.__table__  # type: ignore[attr-defined]
_CONSENTS = ChannelConsent.__table__  # type: ignore[attr-defined]
_OPTED_OUT_HERE = (
    sa.select(_CONSENTS.c.id)
    .where(
        _CONSENTS.c.contact_id == _CONTACTS.c.id,
        _CONSENTS.c.channel == sa.bindparam("channel"),
        _CONSENTS.c.opted_out_at.is_not(None),
    )
    .exists()
)
_CONTACTS_BY_ADDRESS = (
    sa.select(*_CONTACTS.c, _OPTED_OUT_HERE.label("opted_out"))
    .join(_ADDRESSES, _ADDRESSES.c.contact_id == _CONTACTS.c.id)
    .where(_ADDRESSES.c.kind == sa.bindparam("kind"), _ADDRESSES.c.address == sa.bindparam("address"))
    .order_by(_CONTACTS.c.id)
)
_CONTACTS_BY_EXTERNAL_ID = (
    sa.select(*_CONTACTS.c, _OPTED_OUT_HERE.label("opted_out"))
    .where(_CONTACTS.c.external_id == sa.bindparam("address"))
    .order_by(_CONTACTS.c.id)
)
# One query for a contact and its addresses, where the relationship's own loading takes two.
_WITH_ADDRESSES = select(Contact).options(joinedload(Contact.address_rows))
_OPTED_OUT_OF_ANY = sa.select(_CONSENTS.c.channel).where(
    _CONSENTS.c.contact_id.in_(sa.bindparam("ids", expanding=True)), _CONSENTS.c.opted_out_at.is_not(None)
)


def _upsert_addresses(session: Session, contact_id: int, addresses: dict[str, str]) -> None:
    """All of them in one statement; an address that is already stored is left alone."""
    rows = [{"contact_id": contact_id, "kind": kind, "address": address} for kind, address in addresses.items()]
    insert = INSERTS[session.connection().dialect.name](_ADDRESSES).values(rows)
    statement = insert.on_conflict_do_update(
        index_elements=["contact_id", "kind"],
        set_={"address": insert.excluded.address},
        where=_ADDRESSES.c.address != insert.excluded.address,
    )
    session.connection().execute(statement)


def upsert_contact(session: Session, external_id: str, fields: dict[str, Any]) -> tuple[Contact, bool]:
    """The contact, created if new (True) or updated with the fields the caller sent; absent fields stay.

    Fields that are not the contact's columns are addresses by kind (`phone`, `email`, ...), which the
    channels declare. INSERT ... ON CONFLICT DO NOTHING, so two events for a new contact arriving at once
    cannot both create it; the addresses take one more statement, only when the event carries some.
    """
    given = {name: value for name, value in fields.items() if value is not None and name in _NEW_CONTACT}
    addresses = {kind: value for kind, value in fields.items() if value is not None and kind not in _NEW_CONTACT}
    now = utcnow()
    values = {**_NEW_CONTACT, **given, "external_id": external_id, "created_at": now, "updated_at": now}
    row = _INSERT_CONTACT.run(session, values)
    if row is not None:
        contact = Contact(**row._mapping)
        if addresses:
            _upsert_addresses(session, row.id, addresses)
        contact.address_rows = [ContactAddress(contact_id=row.id, kind=k, address=a) for k, a in addresses.items()]
        return contact, True
    contact = session.exec(_WITH_ADDRESSES.where(Contact.external_id == external_id)).unique().one()
    _merge(contact, given, now)
    if any(contact.addresses.get(kind) != address for kind, address in addresses.items()):
        assert contact.id is not None
        _upsert_addresses(session, contact.id, addresses)
        contact.updated_at = now
        session.expire(contact, ["address_rows"])  # read again when asked for
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


def contacts_at_address(
    session: Session, channel: str, kind: str | None, address: str
) -> tuple[list[Contact], bool]:
    """Everyone with this address of this kind (people may share a phone; kind None: the external id, as the
    web channel addresses contacts), oldest first, as read-only copies not attached to the session and
    without their addresses; and whether any of them opted out of the channel. One query: a reply waits."""
    query = _CONTACTS_BY_EXTERNAL_ID if kind is None else _CONTACTS_BY_ADDRESS
    rows = session.connection().execute(query, {"kind": kind, "address": address, "channel": channel})
    contacts, opted_out = [], False
    for row in rows:
        *columns, row_opted_out = row
        contacts.append(Contact(**dict(zip(_CONTACT_NAMES, columns, strict=True))))
        opted_out = opted_out or bool(row_opted_out)
    return contacts, opted_out


def opted_out_channels(session: Session, contact_id: int) -> set[str]:
    rows = session.exec(
        select(ChannelConsent.channel).where(
            ChannelConsent.contact_id == contact_id, ChannelConsent.opted_out_at.is_not(None)
        )
    ).all()
    return set(rows)


def opted_out_of_any(session: Session, contact_ids: list[int]) -> set[str]:
    """Channels that any of these contacts (people sharing an address) opted out of."""
    return set(session.connection().execute(_OPTED_OUT_OF_ANY, {"ids": contact_ids}).scalars())


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


def set_opt_out(session: Session, contact_id: int, channel: str, at: datetime | None, source: str,
                actor: str | None = None) -> None:
    """Record an opt-out (at given) or an opt-in (at None) for one channel. A new opt-out is a `contact.opted_out`
    webhook event, and every change of state an audit entry (by `actor`, else the customer or the provider),
    written in the same transaction."""
    consent = session.exec(
        select(ChannelConsent).where(ChannelConsent.contact_id == contact_id, ChannelConsent.channel == channel)
    ).first()
    if consent is None:
        consent = ChannelConsent(contact_id=contact_id, channel=channel)
    newly_out = at is not None and consent.opted_out_at is None
    if newly_out or (at is None and consent.opted_out_at is not None):
        who = actor or ("provider" if source == "provider" else "customer")
        add_entry(session, who, "consent", f"contact #{contact_id} {channel}", "opted_out" if at else "opted_in",
                  {"source": source, "was": consent.source})
    consent.opted_out_at = at
    consent.source = source
    consent.updated_at = utcnow()
    session.add(consent)
    session.flush()
    if newly_out:
        enqueue(session, "contact.opted_out", lambda: {
            "contact": {"external_id": external_id_of(session, contact_id)}, "channel": channel, "source": source,
            "opted_out_at": at.isoformat().replace("+00:00", "Z") if at else None,
        }, contact_id)


def external_id_of(session: Session, contact_id: int) -> str | None:
    return session.exec(select(Contact.external_id).where(Contact.id == contact_id)).first()


def learn_address(session: Session, contact_id: int, kind: str, address: str) -> None:
    """A provider found the contact's address of a kind (a Slack user by email): keep it, so their replies
    are recognised and later sends skip the lookup. An address the contact already has is never replaced."""
    session.execute(
        INSERTS[session.connection().dialect.name](_ADDRESSES)
        .values(contact_id=contact_id, kind=kind, address=address)
        .on_conflict_do_nothing(index_elements=["contact_id", "kind"])
    )
