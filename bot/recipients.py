"""Turning stored contacts into what channels and templates may see of them."""

from __future__ import annotations

from typing import Any

from channels.base import Recipient
from channels.registry import channel_class
from flows.schema import FlowDefinition
from flows.templates import template_context
from flows.texts import builtin_text
from storage.models import Contact, Event


def recipient_of(contact: Contact) -> Recipient:
    return Recipient(
        external_id=contact.external_id,
        name=contact.name,
        addresses=contact.addresses,
        locale=contact.locale,
        attributes=dict(contact.attributes or {}),
    )


def stored_address(channel: str, address: str) -> tuple[str | None, str]:
    """The kind and stored form of the address a channel's message came from (None: an external id)."""
    cls = channel_class(channel)
    return cls.address_kind, cls.contact_address(address)


def contact_fields(contact: Contact) -> dict[str, Any]:
    """The contact as templates see it: its addresses by kind (`contact.email`, `contact.phone`) and in
    `contact.addresses`."""
    addresses = contact.addresses
    return {
        **addresses,
        "addresses": addresses,
        "external_id": contact.external_id,
        "name": contact.name,
        "locale": contact.locale,
        "timezone": contact.timezone,
        "attributes": dict(contact.attributes or {}),
    }


def survey_context(contact: Contact, event: Event, definition: FlowDefinition) -> dict[str, Any]:
    """What a flow's templates see for one survey: the contact, the event's properties and the flow."""
    flow = {"key": definition.key, "name": definition.name}
    return template_context(contact_fields(contact), event.properties or {}, flow)


def question_text(definition: FlowDefinition, locale: str, context: dict[str, Any], channel: str,
                  recheck: bool = False) -> str:
    """The survey's question on this channel; a "did we fix it?" survey asks it again after a line saying why."""
    text = definition.text_for(locale, context, channel)
    return f"{builtin_text('recheck_intro', locale)} {text}" if recheck else text
