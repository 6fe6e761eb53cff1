"""The workbench's queries against a Python oracle: every filter, keyset pages that neither skip nor repeat, the
counts per queue, a customer's answers and a case's thread."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from storage.cases import UNRESOLVED, CaseFilters, case_thread, contact_answers, list_cases, queue_counts
from storage.db import make_engine, session_scope
from storage.models import Activity, Contact, Delivery, Event, Flow, FollowUp, Message, Queue, Response

T0 = datetime(2026, 3, 1, tzinfo=UTC)
NOW = T0 + timedelta(hours=30)
STATUSES = ("open", "claimed", "resolved")
THEMES = ([], ["price"], ["delivery", "price"], ["staff"])


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        yield session
    engine.dispose()


def seed(session: Session, cases: int = 60) -> None:
    """Cases varied on every filtered attribute; several share a due time, so ties need the id."""
    contacts = [Contact(external_id=f"c{n}", name=f"Customer {n}") for n in range(3)]
    flows = [Flow(key=f"flow-{n}", definition={}) for n in range(2)]
    queues = [Queue(key=f"q{n}", name=f"Q{n}", sla_minutes=60) for n in range(3)]
    session.add_all([*contacts, *flows, *queues])
    session.flush()
    for n in range(cases):
        contact, flow = contacts[n % 3], flows[n % 2]
        at = T0 + timedelta(hours=n // 2)
        event = Event(type="t", contact_id=contact.id, idempotency_key=f"e{n}", occurred_at=at)
        session.add(event)
        session.flush()
        delivery = Delivery(event_id=event.id, flow_id=flow.id, flow_key=flow.key, contact_id=contact.id,
                            channel=("sms", "email", "web")[n % 3], due_at=at, token=f"t{n}", status="completed")
        session.add(delivery)
        session.flush()
        response = Response(delivery_id=delivery.id, flow_key=flow.key, channel=delivery.channel,
                            contact_id=contact.id, question="nps", score=n % 11,
                            band=("detractor", "passive")[n % 2], sentiment=("negative", "neutral", "positive")[n % 3],
                            themes=THEMES[(n // 3) % 4], answered_at=at)
        session.add(response)
        session.flush()
        status = STATUSES[n % 3]
        session.add(FollowUp(
            response_id=response.id, delivery_id=delivery.id, queue_id=queues[(n // 2) % 3 if n % 5 else 0].id,
            contact_id=contact.id, channel=delivery.channel, status=status, priority=("normal", "high")[n % 2],
            assignee=None if status == "open" else f"agent-{n % 2}",
            due_at=at + timedelta(hours=(n * 7) % 40), created_at=at, updated_at=at))
    session.flush()


def expected(session: Session, f: CaseFilters) -> list[int]:
    rows = session.exec(select(FollowUp, Queue, Response).join(Queue, Queue.id == FollowUp.queue_id)
                        .join(Response, Response.id == FollowUp.response_id)).all()

    def keep(case: FollowUp, queue: Queue, answer: Response) -> bool:
        return all([
            f.queue is None or queue.key == f.queue,
            f.status is None or (case.status != "resolved" if f.status == UNRESOLVED else case.status == f.status),
            f.priority is None or case.priority == f.priority,
            not f.unassigned or case.assignee is None,
            f.assignee is None or case.assignee == f.assignee,
            f.flow is None or answer.flow_key == f.flow,
            f.channel is None or case.channel == f.channel,
            f.band is None or answer.band == f.band,
            f.sentiment is None or answer.sentiment == f.sentiment,
            f.theme is None or f.theme in answer.themes,
            f.created_since is None or case.created_at >= f.created_since,
            f.created_until is None or case.created_at < f.created_until,
        ])

    kept = [case for case, queue, answer in rows if keep(case, queue, answer)]
    return [c.id for c in sorted(kept, key=lambda c: (c.due_at, c.id)) if c.id is not None]


def paged(session: Session, f: CaseFilters, size: int = 7) -> list[int]:
    found: list[int] = []
    after = None
    while True:
        page = list_cases(session, f, after=after, limit=size)
        found += [row.followup.id for row in page if row.followup.id is not None]
        if len(page) < size:
            return found
        after = (page[-1].followup.due_at, page[-1].followup.id or 0)


FILTERS = [
    CaseFilters(),
    CaseFilters(status=UNRESOLVED),
    CaseFilters(status="open", queue="q1"),
    CaseFilters(status="resolved", flow="flow-1"),
    CaseFilters(assignee="agent-1", status=UNRESOLVED),
    CaseFilters(unassigned=True),
    CaseFilters(priority="high", channel="sms"),
    CaseFilters(band="detractor", sentiment="negative"),
    CaseFilters(theme="price"),
    CaseFilters(theme="price", status=UNRESOLVED, queue="q0"),
    CaseFilters(created_since=T0 + timedelta(hours=5), created_until=T0 + timedelta(hours=20)),
    CaseFilters(flow="flow-0", theme="staff", band="detractor"),
]


@pytest.mark.parametrize("filters", FILTERS, ids=[f"filters{n}" for n in range(len(FILTERS))])
def test_every_filter_pages_through_its_cases_soonest_due_first_without_skipping_or_repeating(
    session: Session, filters: CaseFilters
) -> None:
    seed(session)
    want = expected(session, filters)
    assert want, "each filter should find something in the seed"
    assert paged(session, filters) == want
    assert [row.followup.id for row in list_cases(session, filters, limit=100)] == want


def test_a_case_row_carries_its_queue_answer_and_customer(session: Session) -> None:
    seed(session, 3)
    [first, *_] = list_cases(session, CaseFilters(), limit=1)
    assert (first.queue, first.external_id, first.customer) == ("q0", "c0", "Customer 0")
    assert first.response.id == first.followup.response_id


def test_counts_per_queue_are_open_due_soon_and_overdue_among_unresolved_cases(session: Session) -> None:
    seed(session)
    counts = queue_counts(session, NOW, timedelta(hours=3))
    cases = session.exec(select(FollowUp).where(FollowUp.status != "resolved")).all()
    for queue in session.exec(select(Queue)).all():
        mine = [c for c in cases if c.queue_id == queue.id]
        got = counts[queue.id or 0]
        assert got.open == len(mine)
        assert got.overdue == sum(c.due_at < NOW for c in mine)
        assert got.due_soon == sum(NOW <= c.due_at < NOW + timedelta(hours=3) for c in mine)
    assert sum(c.open for c in counts.values()) == len(cases) and any(c.due_soon for c in counts.values())


def test_a_customers_answers_come_newest_first_with_their_cases_and_continue_from_a_cursor(session: Session) -> None:
    seed(session, 12)
    contact = session.exec(select(Contact).where(Contact.external_id == "c1")).one()
    assert contact.id is not None
    first = contact_answers(session, contact.id, limit=3)
    last = first[-1].response
    rest = contact_answers(session, contact.id, limit=10, before=(last.answered_at, last.id or 0))
    mine = sorted(session.exec(select(Response).where(Response.contact_id == contact.id)).all(),
                  key=lambda r: (r.answered_at, r.id), reverse=True)
    assert [a.response.id for a in [*first, *rest]] == [r.id for r in mine]
    cases = {c.response_id: c for c in session.exec(select(FollowUp)).all()}
    assert all(a.case_id == cases[a.response.id or 0].id for a in first)
    assert all(a.case_status == cases[a.response.id or 0].status for a in first)


def test_a_case_thread_is_its_messages_and_trail_in_time_order(session: Session) -> None:
    seed(session, 1)
    case = session.exec(select(FollowUp)).one()
    at = itertools.count()

    def moment() -> datetime:
        return T0 + timedelta(minutes=next(at))

    def message(direction: str, kind: str, text: str) -> Message:
        row = Message(direction=direction, channel="sms", address="+447911123456", delivery_id=case.delivery_id,
                      kind=kind, text=text, created_at=moment())
        session.add(row)
        session.flush()
        return row

    def trail(kind: str, actor: str | None = None, text: str | None = None, row: Message | None = None) -> None:
        session.add(Activity(followup_id=case.id, kind=kind, actor=actor, text=text,
                             message_id=row.id if row else None, at=moment()))
        session.flush()

    message("out", "question", "How likely...")
    answer = message("in", "score", "2 - late again")
    trail("opened", text="band detractor")
    trail("claimed", "kim")
    reply = message("out", "agent", "Sorry! What happened?")
    trail("reply", "kim", "Sorry! What happened?", reply)
    later = message("in", "case_reply", "The box was crushed")
    trail("customer_reply", None, "The box was crushed", later)
    trail("note", "kim", "refund approved")
    other = Message(direction="out", channel="sms", address="x", delivery_id=None, kind="help", text="elsewhere")
    session.add(other)
    session.flush()

    thread = case_thread(session, case)
    shown = [(e.message.text if e.message else e.activity.kind, e.activity.actor if e.activity else None)
             for e in thread if e.message or e.activity]
    assert shown == [("How likely...", None), ("2 - late again", None), ("opened", None), ("claimed", "kim"),
                     ("Sorry! What happened?", "kim"), ("The box was crushed", None), ("note", "kim")]
    assert thread[1].message is answer and thread[4].activity is not None and thread[4].activity.kind == "reply"
