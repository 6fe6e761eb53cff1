"""Events, made idempotent by their key."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from storage.flow_versions import FLOWS_STAMP, FlowsStamp
from storage.models import Delivery, Event
from storage.upsert import InsertIgnoring

_EVENTS = Event.__table__  # type: ignore[attr-defined]
_INSERT_EVENT = InsertIgnoring(_EVENTS, ["idempotency_key"], [_EVENTS.c.id, *FLOWS_STAMP])


def event_by_key(session: Session, idempotency_key: str) -> Event | None:
    return session.exec(select(Event).where(Event.idempotency_key == idempotency_key)).first()


def deliveries_of_event(session: Session, event_id: int) -> list[Delivery]:
    return list(session.exec(select(Delivery).where(Delivery.event_id == event_id).order_by(Delivery.id)).all())


def insert_event(session: Session, **values: Any) -> tuple[Event, FlowsStamp] | None:
    """The new event with the stamp of the current flows (see FLOWS_STAMP), or None when its idempotency key is
    already stored: one statement either way."""
    row = _INSERT_EVENT.run(session, values)
    return None if row is None else (Event(id=row.id, **values), (row.flows_newest, row.flows_current))
