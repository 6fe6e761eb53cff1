"""Contacts as admins look them up: search, a contact's surveys and consent, and every row held about them."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from storage.models import ChannelConsent, Contact, ContactAddress, Delivery, FollowUp, Response

SEARCH_LIMIT = 50
_TOP = "\U0010ffff"  # sorts after every character: [q, q + _TOP) is "starts with q", an index range on both DBs


def _prefix(column: Any, text: str) -> Any:
    return sa.and_(column >= text, column < text + _TOP)


def search_contacts(session: Session, text: str, addresses: Iterable[tuple[str, str]]) -> list[Contact]:
    """Contacts whose external id or name starts with `text`, or who have one of `addresses` (kind, address as
    stored). Each is an index range or lookup (external id, name, contact_address (kind, address))."""
    ids: set[int] = set()
    for query in (select(Contact.id).where(_prefix(col(Contact.external_id), text)),
                  select(Contact.id).where(_prefix(col(Contact.name), text))):
        ids.update(i for i in session.exec(query.limit(SEARCH_LIMIT)) if i is not None)
    for kind, address in addresses:
        ids.update(session.exec(select(ContactAddress.contact_id).where(
            ContactAddress.kind == kind, ContactAddress.address == address).limit(SEARCH_LIMIT)))
    if not ids:
        return []
    found = session.exec(select(Contact).where(col(Contact.id).in_(ids)).order_by(col(Contact.external_id)))
    return list(found)[:SEARCH_LIMIT]


def contact_deliveries(session: Session, contact_id: int) -> list[tuple[Delivery, Response | None, int | None]]:
    """Every survey of the contact, newest first, with its answer and its case (if any)."""
    rows = session.exec(
        select(Delivery, Response, FollowUp.id)
        .outerjoin(Response, col(Response.delivery_id) == Delivery.id)
        .outerjoin(FollowUp, col(FollowUp.response_id) == Response.id)
        .where(Delivery.contact_id == contact_id)
        .order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc())
    ).all()
    return [(delivery, response, case_id) for delivery, response, case_id in rows]


def consents(session: Session, contact_id: int) -> dict[str, ChannelConsent]:
    rows = session.exec(select(ChannelConsent).where(ChannelConsent.contact_id == contact_id)).all()
    return {row.channel: row for row in rows}


# --- everything held about a contact (GDPR access) ------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _pk(table: sa.Table, row: Any) -> tuple[Any, ...]:
    return tuple(row._mapping[c.name] for c in table.primary_key.columns)


def rows_about(session: Session, contact_id: int, addresses: Iterable[str] = ()) -> dict[str, list[dict[str, Any]]]:
    """Every row that points at the contact, directly or through rows that do (their events, surveys, messages,
    answers, cases and what hangs off those), found from the schema's foreign keys so a new table is never
    forgotten; messages sent to or from the contact's `addresses` that reached no contact; and the audit entries
    about their consent and their record, which name them by row id, not by a foreign key. Table -> rows."""
    tables = SQLModel.metadata.tables
    connection = session.connection()
    found: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    contact = tables["contact"]
    for row in connection.execute(sa.select(contact).where(contact.c.id == contact_id)):
        found["contact"] = {_pk(contact, row): dict(row._mapping)}
    if not found:
        return {}
    wanted = list(addresses)
    if wanted:
        messages = tables["message"]
        for row in connection.execute(sa.select(messages).where(messages.c.address.in_(wanted),
                                                                messages.c.contact_id.is_(None))):
            found.setdefault("message", {})[_pk(messages, row)] = dict(row._mapping)
    changed = True
    while changed:
        changed = False
        for table in tables.values():
            for fk in table.foreign_keys:
                target = fk.column.table.name
                values = {row[fk.column.name] for row in found.get(target, {}).values()} - {None}
                if target == table.name or not values or not table.primary_key.columns:
                    continue
                for row in connection.execute(sa.select(table).where(fk.parent.in_(values))):
                    key = _pk(table, row)
                    if key not in found.setdefault(table.name, {}):
                        found[table.name][key] = dict(row._mapping)
                        changed = True
    audit = tables["audit_log"]
    naming = sa.or_(sa.and_(audit.c.kind == "contact", audit.c.object_key == f"#{contact_id}"),
                    sa.and_(audit.c.kind == "consent", audit.c.object_key.like(f"contact #{contact_id} %")))
    for row in connection.execute(sa.select(audit).where(naming).order_by(audit.c.id)):
        found.setdefault("audit_log", {})[_pk(audit, row)] = dict(row._mapping)
    return {name: [{k: _jsonable(v) for k, v in row.items()} for row in rows.values()]
            for name, rows in sorted(found.items()) if rows}
