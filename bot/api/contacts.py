"""A customer's personal data on request: DELETE /api/v1/contacts/{external_id} erases it, GET .../export hands
over everything held about them (GDPR access). Both are audited."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from pydantic import BaseModel

from bot.api.actor import api_actor
from bot.api.errors import not_found
from bot.contacts import erase_by_external_id, export
from bot.runtime import runtime
from storage.contacts import contact_by_external_id


class ContactExport(BaseModel):
    contact_id: int
    tables: dict[str, list[dict[str, Any]]]  # table -> every row of it about the contact


def delete_contact(external_id: str) -> tuple[str, int]:
    with runtime().session() as session:
        erase_by_external_id(session, external_id, actor=api_actor())
    return "", 204


def export_contact(external_id: str) -> Response:
    with runtime().session() as session:
        contact = contact_by_external_id(session, external_id)
        if contact is None or contact.id is None:
            raise not_found("contact", external_id)
        body = ContactExport(**export(session, contact.id, actor=api_actor()))
    return jsonify(body.model_dump(mode="json"))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/contacts/<path:external_id>/export", "export_contact", export_contact, methods=["GET"])
    bp.add_url_rule("/contacts/<path:external_id>", "delete_contact", delete_contact, methods=["DELETE"])
