"""Events, made idempotent by their key."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.models import Delivery, Event


def event_by_key(session: Session, idempotency_key: str) -> Event | None:
    return session.exec(select(Event).where(Event.idempotency_key == idempotency_key)).first()


def deliveries_of_event(session: Session, event_id: int) -> list[Delivery]:
    return list(session.exec(select(Delivery).where(Delivery.event_id == event_id).order_by(Delivery.id)).all())
