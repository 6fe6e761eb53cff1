"""Turning stored contacts into what channels and templates may see of them."""

from __future__ import annotations

from typing import Any

from channels.base import Recipient
from flows.schema import FlowDefinition
from flows.templates import template_context
from storage.models import Contact, Event


def recipient_of(contact: Contact) -> Recipient:
    return Recipient(
        external_id=contact.external_id,
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        slack_user_id=contact.slack_user_id,
        locale=contact.locale,
        slack_team_id=(contact.attributes or {}).get("slack_team_id"),
    )


def contact_fields(contact: Contact) -> dict[str, Any]:
    """The contact as templates see it."""
    return {
        "external_id": contact.external_id,
        "name": contact.name,
        "email": contact.email,
        "phone": contact.phone,
        "locale": contact.locale,
        "timezone": contact.timezone,
        "attributes": dict(contact.attributes or {}),
    }


def survey_context(contact: Contact, event: Event, definition: FlowDefinition) -> dict[str, Any]:
    """What a flow's templates see for one survey: the contact, the event's properties and the flow."""
    flow = {"key": definition.key, "name": definition.name}
    return template_context(contact_fields(contact), event.properties or {}, flow)
