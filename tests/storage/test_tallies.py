"""The daily tallies behind /metrics always agree with the rows they count, whatever changed and when."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from storage.db import make_engine, session_scope
from storage.metrics import Filters, Totals, metric_totals
from storage.models import Contact, Delivery, Event, Flow, Response

DAY0 = datetime(2026, 3, 1, tzinfo=UTC)
CHANNELS = ("sms", "email")


def _expected(session: Session, f: Filters) -> Totals:
    """The metrics recounted row by row in Python, as the oracle for the tallies."""
    def keep(flow: str, channel: str, at: datetime | None) -> bool:
        return at is not None and (not f.flow or flow == f.flow) and (not f.channel or channel == f.channel) and (
            f.since is None or at >= f.since) and (f.until is None or at < f.until)

    # "Did we fix it?" surveys and answers (recheck_of) are their case's, not their flow's.
    sent = sum(keep(d.flow_key, d.channel, d.sent_at) for d in session.exec(select(Delivery)) if d.recheck_of is None)
    rows = [r for r in session.exec(select(Response))
            if keep(r.flow_key, r.channel, r.answered_at) and r.recheck_of is None]
    scored = [r for r in rows if r.score is not None]
    ces = [r.score for r in scored if r.question == "ces"]
    return Totals(
        sent=sent,
        responses=len(scored),
        nps_n=sum(r.question == "nps" for r in scored),
        nps_promoters=sum(r.question == "nps" and r.band == "promoter" for r in scored),
        nps_detractors=sum(r.question == "nps" and r.band == "detractor" for r in scored),
        csat_n=sum(r.question == "csat" for r in scored),
        csat_satisfied=sum(r.question == "csat" and r.band == "promoter" for r in scored),
        ces_mean=sum(ces) / len(ces) if ces else None,
        positive=sum(r.sentiment == "positive" for r in rows),
        neutral=sum(r.sentiment == "neutral" for r in rows),
        negative=sum(r.sentiment == "negative" for r in rows),
    )


def _store(session: Session, count: int) -> None:
    contact = Contact(external_id="c1")
    flow = Flow(key="f", definition={})
    session.add_all([contact, flow])
    session.flush()
    questions = ("nps", "csat", "ces")
    bands = ("detractor", "passive", "promoter")
    for i in range(count):
        at = DAY0 + timedelta(hours=7 * i)
        event = Event(type="t", contact_id=contact.id, idempotency_key=f"e{i}")
        session.add(event)
        session.flush()
        recheck = 1 if i % 4 == 3 else None
        delivery = Delivery(event_id=event.id, flow_id=flow.id, flow_key=f"flow-{i % 2}", contact_id=contact.id,
                            channel=CHANNELS[i % 2], due_at=at, token=f"t{i}", sent_at=at if i % 5 else None,
                            recheck_of=recheck)
        session.add(delivery)
        session.flush()
        if i % 3:
            session.add(Response(delivery_id=delivery.id, flow_key=delivery.flow_key, channel=delivery.channel,
                                 contact_id=contact.id, question=questions[i % 3], score=i % 6 if i % 7 else None,
                                 band=bands[i % 3], sentiment=("positive", "negative", None)[i % 3],
                                 answered_at=at + timedelta(minutes=30), recheck_of=recheck))


def _change_some(session: Session) -> None:
    responses = session.exec(select(Response).order_by(Response.id)).all()
    responses[0].score, responses[0].band = 5, "promoter"
    responses[1].sentiment = "neutral"
    responses[2].answered_at += timedelta(days=2)
    responses[3].score = None
    session.delete(responses[4])
    delivery = session.exec(select(Delivery).where(Delivery.sent_at.is_(None))).first()
    delivery.sent_at = DAY0 + timedelta(days=3, hours=5)


def _filters() -> list[Filters]:
    times = [None, DAY0, DAY0 + timedelta(hours=30), DAY0 + timedelta(days=2), DAY0 + timedelta(days=2, hours=1),
             DAY0 + timedelta(days=5, minutes=1), DAY0 + timedelta(days=40)]
    ranges = [(s, u) for s, u in itertools.product(times, times) if s is None or u is None or s <= u]
    return [Filters(flow=flow, channel=channel, since=s, until=u)
            for (s, u), flow, channel in itertools.product(ranges, (None, "flow-1"), (None, "email"))]


@pytest.mark.parametrize("changed", [False, True], ids=["as stored", "after corrections"])
def test_metrics_from_tallies_equal_a_recount_of_the_rows(database_url: str, changed: bool) -> None:
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            _store(session, 60)
        if changed:
            with session_scope(engine) as session:
                _change_some(session)
            with session_scope(engine) as session:
                fresh = session.exec(select(Response).order_by(Response.id.desc())).first()
                session.expire(fresh)
                fresh.score = 1  # set without loading the old value: the tally reads it from the row
        with session_scope(engine) as session:
            for filters in _filters():
                assert metric_totals(session, filters) == _expected(session, filters), filters
    finally:
        engine.dispose()


def test_a_rolled_back_change_is_not_counted(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            _store(session, 10)
        with pytest.raises(RuntimeError), session_scope(engine) as session:
            session.exec(select(Response)).first().score = 0
            session.flush()
            raise RuntimeError
        with session_scope(engine) as session:
            assert metric_totals(session, Filters()) == _expected(session, Filters())
    finally:
        engine.dispose()
