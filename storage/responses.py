"""Responses: one per delivery, listed with keyset pagination."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import Contact, Response
from storage.tallies import note_response_written

_RESPONSES = Response.__table__  # type: ignore[attr-defined]
_RESPONSE_FIELDS = [column.name for column in _RESPONSES.c if column.name != "id"]
_BY_DELIVERY = sa.select(_RESPONSES).where(_RESPONSES.c.delivery_id == sa.bindparam("delivery_id"))
_INSERT = sa.insert(_RESPONSES).returning(_RESPONSES.c.id)
_UPDATE = (
    sa.update(_RESPONSES)
    .where(_RESPONSES.c.id == sa.bindparam("response_id"))
    .values({name: sa.bindparam(name) for name in _RESPONSE_FIELDS})
)


def response_for_delivery(session: Session, delivery_id: int) -> Response | None:
    """A copy of the delivery's response, not attached to the session: `save_response` writes changes."""
    row = session.connection().execute(_BY_DELIVERY, {"delivery_id": delivery_id}).first()
    return None if row is None else Response(**row._mapping)


def save_response(session: Session, response: Response, before: Response | None) -> Response:
    """Insert the response (before is None) or update it, in one constant statement, and keep the tallies.

    The answer path writes here instead of through the ORM: a flush costs several times the statement."""
    values = {name: getattr(response, name) for name in _RESPONSE_FIELDS}
    connection = session.connection()
    if before is None:
        response.id = connection.execute(_INSERT, values).scalar_one()
    else:
        connection.execute(_UPDATE, {"response_id": response.id, **values})
    note_response_written(session, before, response)
    return response


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
    """Responses to surveys (not "did we fix it?" answers, which are their case's) with their contact's external
    id, oldest first, after the cursor id."""
    query = (select(Response, Contact.external_id).join(Contact, col(Contact.id) == Response.contact_id)
             .where(col(Response.recheck_of).is_(None), Response.is_test == sa.false()))
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
