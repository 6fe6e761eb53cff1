"""Responses: one per delivery, listed with keyset pagination."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import Contact, Response


def response_for_delivery(session: Session, delivery_id: int) -> Response | None:
    return session.exec(select(Response).where(Response.delivery_id == delivery_id)).first()


def list_responses(
    session: Session,
    *,
    flow: str | None = None,
    contact: str | None = None,
    band: str | None = None,
    since: datetime | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[tuple[Response, str]]:
    """Responses with their contact's external id, oldest first, after the cursor id."""
    query = select(Response, Contact.external_id).join(Contact, col(Contact.id) == Response.contact_id)
    if flow:
        query = query.where(Response.flow_key == flow)
    if contact:
        query = query.where(Contact.external_id == contact)
    if band:
        query = query.where(Response.band == band)
    if since:
        query = query.where(Response.answered_at >= since)
    if after_id:
        query = query.where(Response.id > after_id)
    rows = session.exec(query.order_by(Response.id).limit(limit)).all()
    return [(r, ext) for r, ext in rows]
