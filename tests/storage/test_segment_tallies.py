"""The segment tallies: picking a segment counts the answers already stored, and from then on every answer written
(through the ORM or the answer path's SQL), corrected or deleted moves them; test sends and "did we fix it?"
answers stay out. What they hold is what counting the rows gives, on both databases."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from storage.db import make_engine, read_session, session_scope
from storage.models import Contact, Delivery, Event, Flow, Response, SegmentTally
from storage.responses import response_for_delivery, save_response
from storage.segments import pick, picked, text_of, unpick

AT = datetime(2026, 3, 2, 12, tzinfo=UTC)


def recount(session: Session, segment: str) -> Counter[tuple]:
    """(value, day, band, counter) from the rows, the value as it is stored now."""
    source, _, key = segment.partition(".")
    counts: Counter[tuple] = Counter()
    rows = session.exec(select(Response, Contact, Event).join(Contact, Contact.id == Response.contact_id)
                        .join(Delivery, Delivery.id == Response.delivery_id).join(Event, Event.id == Delivery.event_id))
    for r, contact, event in rows:
        if r.recheck_of is not None or r.is_test:
            continue
        value = text_of((contact.attributes if source == "contact" else event.properties).get(key))
        group = (value, r.answered_at.date(), r.band or "")
        counts[(*group, "answers")] += 1
        counts[(*group, "scored")] += r.score is not None
        counts[(*group, "sum")] += r.score or 0
        counts[(*group, "squares")] += (r.score or 0) ** 2
    return +counts


def tallied(session: Session, segment: str) -> Counter[tuple]:
    t = SegmentTally
    keys = (t.value, t.day, t.band)
    query = (sa.select(*keys, sa.func.sum(t.answers), sa.func.sum(t.scored), sa.func.sum(t.score_sum),
                       sa.func.sum(t.score_sq_sum)).where(t.segment == segment).group_by(*keys))
    counts: Counter[tuple] = Counter()
    for value, day, band, answers, scored, total, squares in session.execute(query).all():
        for name, n in (("answers", answers), ("scored", scored), ("sum", total), ("squares", squares)):
            counts[(value, day, band, name)] += int(n)
    return +counts


def _answers(session: Session, plans: list[object], *, first: int = 0, is_test: bool = False,
             recheck_of: int | None = None) -> None:
    flow = session.exec(select(Flow).where(Flow.key == "f")).first() or Flow(key="f", definition={})
    session.add(flow)
    session.flush()
    for i, plan in enumerate(plans, first):
        contact = Contact(external_id=f"c{i}", attributes={} if plan is None else {"plan": plan})
        session.add(contact)
        session.flush()
        event = Event(type="t", contact_id=contact.id, idempotency_key=f"k{i}", properties={"store": f"s{i % 2}"})
        session.add(event)
        session.flush()
        delivery = Delivery(event_id=event.id, flow_id=flow.id, flow_key="f", contact_id=contact.id, channel="sms",
                            due_at=AT, token=f"t{i}", sent_at=AT, is_test=is_test)
        session.add(delivery)
        session.flush()
        score = i % 11
        session.add(Response(delivery_id=delivery.id, flow_key="f", channel="sms", contact_id=contact.id,
                             question="nps", score=score, band="detractor" if score < 7 else "promoter",
                             answered_at=AT.replace(day=2 + i % 3), is_test=is_test, recheck_of=recheck_of))


def test_a_picked_segment_counts_the_stored_answers_then_follows_every_write(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            _answers(session, ["free", "team", "free", None, 3, True, "team"])
        with session_scope(engine) as session:
            assert pick(session, "contact.plan", "admin@example.com")
            assert pick(session, "event.store")
            assert not pick(session, "event.store")
        with read_session(engine) as session:
            assert picked(session) == ["contact.plan", "event.store"]
            for segment in ("contact.plan", "event.store"):
                assert tallied(session, segment) == recount(session, segment)
            assert tallied(session, "contact.plan")[("", AT.date(), "detractor", "answers")] == 1  # no plan

        with session_scope(engine) as session:  # new answers, a test send's and a "did we fix it?" one
            _answers(session, ["free", "business"], first=10)
            _answers(session, ["free"], first=20, is_test=True)
            _answers(session, ["free"], first=30, recheck_of=1)
        with session_scope(engine) as session:  # a correction on the answer path, a deletion through the ORM
            delivery_id = session.exec(select(Delivery.id).where(Delivery.token == "t10")).one()
            before = response_for_delivery(session, delivery_id)
            assert before is not None
            after = Response(**before.model_dump())
            after.score, after.band = 10, "promoter"
            save_response(session, after, before)
            session.delete(session.exec(select(Response).where(Response.contact_id == 2)).one())
        with read_session(engine) as session:
            for segment in ("contact.plan", "event.store"):
                assert tallied(session, segment) == recount(session, segment)
            plans = {key[0] for key in tallied(session, "contact.plan")}
            assert plans == {"free", "team", "business", "", "3", "true"}

        with session_scope(engine) as session:
            assert unpick(session, "event.store")
        with read_session(engine) as session:
            assert picked(session) == ["contact.plan"] and tallied(session, "event.store") == Counter()
    finally:
        engine.dispose()
