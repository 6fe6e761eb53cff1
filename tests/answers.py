"""Answers stored as the bot stores them (through the ORM, so the daily tallies move), on a chosen day: the
past an insight reads, without waiting for it."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time

from sqlmodel import select

from bot.runtime import Runtime
from flows.questions import band_for
from storage.models import Contact, Delivery, Event, Flow, Response

_batch = itertools.count(1)


def store_answers(rt: Runtime, day: date, scores: list[int], *, flow: str = "a", channel: str = "sms",
                  question: str = "nps", comment: str | None = None, themes: list[str] | None = None,
                  sentiment: str | None = None, attributes: dict | None = None,
                  properties: dict | None = None) -> None:
    """One contact's answers at noon UTC on `day`, each with the comment, themes and sentiment given; the
    contact's `attributes` and each event's `properties` when given."""
    at = datetime.combine(day, time(12), tzinfo=UTC)
    batch = f"c{next(_batch)}-{day}-{flow}-{channel}"
    with rt.session() as session:
        contact = Contact(external_id=batch, attributes=attributes or {})
        flow_row = session.exec(select(Flow).where(Flow.key == flow)).first() or Flow(key=flow, definition={})
        session.add_all([contact, flow_row])
        session.flush()
        for i, score in enumerate(scores):
            event = Event(type="t", contact_id=contact.id, idempotency_key=f"{batch}-{i}", properties=properties or {})
            session.add(event)
            session.flush()
            delivery = Delivery(event_id=event.id, flow_id=flow_row.id, flow_key=flow, contact_id=contact.id,
                                channel=channel, due_at=at, token=f"{batch}-{i}", sent_at=at)
            session.add(delivery)
            session.flush()
            session.add(Response(delivery_id=delivery.id, flow_key=flow, channel=channel, contact_id=contact.id,
                                 question=question, score=score, band=band_for(question, score).value,
                                 answered_at=at, comment=comment, themes=themes or [],
                                 sentiment=sentiment if comment else None))


def store_sends(rt: Runtime, day: date, count: int, *, flow: str = "a", channel: str = "sms") -> None:
    """Surveys sent at noon UTC on `day` and never answered."""
    at = datetime.combine(day, time(12), tzinfo=UTC)
    batch = f"s{next(_batch)}-{day}-{flow}-{channel}"
    with rt.session() as session:
        contact = Contact(external_id=batch)
        flow_row = session.exec(select(Flow).where(Flow.key == flow)).first() or Flow(key=flow, definition={})
        session.add_all([contact, flow_row])
        session.flush()
        for i in range(count):
            event = Event(type="t", contact_id=contact.id, idempotency_key=f"{batch}-{i}")
            session.add(event)
            session.flush()
            session.add(Delivery(event_id=event.id, flow_id=flow_row.id, flow_key=flow, contact_id=contact.id,
                                 channel=channel, due_at=at, token=f"{batch}-{i}", sent_at=at))
