"""What the sandbox may reach: its own contacts, and only the messages that went through the sandbox transport.

The /sandbox pages answer anyone, so every condition is in the queries here rather than in the pages.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.contacts import contacts_at_address
from storage.models import Contact, Message

SANDBOX = "sandbox"  # the sandbox transport's name, on every message it carried
SANDBOX_PREFIX = "sandbox:"


@dataclass(frozen=True)
class SandboxContacts:
    """The contacts the sandbox plays: external ids with the prefix (the page's own) and a few named ones
    (the demo's). Nobody else's data is shown, changed or answered for from the sandbox."""

    named: frozenset[str] = frozenset()
    prefix: str = SANDBOX_PREFIX

    def includes(self, external_id: str) -> bool:
        return external_id.startswith(self.prefix) or external_id in self.named

    def clause(self) -> sa.ColumnElement[bool]:
        external_id = col(Contact.external_id)
        return sa.or_(external_id.startswith(self.prefix, autoescape=True), external_id.in_(sorted(self.named)))


def sandbox_conversations(session: Session, contacts: SandboxContacts, limit: int = 200) -> list[tuple[str, str]]:
    """(channel, address) of the sandbox contacts' sandbox exchanges, the latest first."""
    last = sa.func.max(Message.id)
    rows = session.exec(
        select(Message.channel, Message.address, last)
        .join(Contact, col(Contact.id) == Message.contact_id)
        .where(Message.transport == SANDBOX, contacts.clause())
        .group_by(Message.channel, Message.address)
        .order_by(last.desc())
        .limit(limit)
    ).all()
    return [(channel, address) for channel, address, _ in rows]


def sandbox_thread(
    session: Session, channel: str, address: str, contacts: SandboxContacts, limit: int = 200
) -> list[Message]:
    """One sandbox exchange, oldest first: what the sandbox sent to and received from a sandbox contact there."""
    rows = session.exec(
        select(Message)
        .join(Contact, col(Contact.id) == Message.contact_id)
        .where(Message.transport == SANDBOX, contacts.clause(), Message.channel == channel, Message.address == address)
        .order_by(col(Message.id).desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


def only_sandbox_contacts_at(
    session: Session, channel: str, address: tuple[str | None, str], contacts: SandboxContacts
) -> bool:
    """Whether everyone at this address (kind and address) is a sandbox contact (and someone is): a reply
    typed in the sandbox is matched by address, so it must not be able to answer anyone else's survey."""
    found, _ = contacts_at_address(session, channel, *address)
    return bool(found) and all(contacts.includes(contact.external_id) for contact in found)


def sandbox_messages(session: Session, address: str | None, limit: int = 500) -> list[Message]:
    """What the sandbox transport sent (to one address), oldest first; never a real provider's messages."""
    query = select(Message).where(Message.direction == "out", Message.transport == SANDBOX)
    if address is not None:
        query = query.where(Message.address == address)
    return list(session.exec(query.order_by(Message.id).limit(limit)).all())
