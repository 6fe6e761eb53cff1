"""DELETE /api/v1/contacts/{external_id}: erase a customer's personal data when they ask."""

from __future__ import annotations

from flask import Blueprint

from bot.api.errors import not_found
from bot.runtime import runtime
from channels.registry import provider_addresses
from storage.erasure import erase_contact


def delete_contact(external_id: str) -> tuple[str, int]:
    with runtime().session() as session:
        if not erase_contact(session, external_id, provider_addresses):
            raise not_found("contact", external_id)
    return "", 204


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/contacts/<path:external_id>", "delete_contact", delete_contact, methods=["DELETE"])
