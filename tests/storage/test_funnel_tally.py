"""The funnel tally follows every way a delivery or its answer is written (the ORM, the answer path's SQL, a
fallback to another channel), leaves test sends out and rolled-back changes uncounted, and migration 0023
fills it from the deliveries already stored (and adds the segment tallies, empty until a segment is picked)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session, select

from storage.db import make_engine, read_session, session_scope
from storage.deliveries import (
    NewDelivery,
    create_delivery,
    delivery_with_context,
    record_status,
    save_conversation,
)
from storage.funnel import counted_from_rows
from storage.insights import Scope, funnel_counts
from storage.migrate import alembic_config, upgrade
from storage.models import Contact, Delivery, DeliveryStatus, Event, Flow, FunnelTally, Response
from storage.responses import response_for_delivery, save_response
from tests.storage.test_migrations import empty_database

AT = datetime(2026, 3, 2, 12, tzinfo=UTC)


def tallied(session: Session) -> Counter[tuple]:
    """(day, flow, channel, step, reason) -> deliveries, the shards summed."""
    t = FunnelTally
    keys = (t.day, t.flow_key, t.channel, t.step, t.reason)
    query = sa.select(*keys, sa.func.sum(t.deliveries)).group_by(*keys)
    return +Counter({tuple(row[:5]): int(row[5]) for row in session.execute(query).all()})


def waiting_now(engine: sa.Engine) -> list[tuple[str | None, int]]:
    """(channel, deliveries) waiting to be sent, as the funnel reads them: from the rows, not the tally."""
    with read_session(engine) as session:
        return sorted((group, n) for group, step, reason, n in funnel_counts(session, Scope(), "channel")
                      if (step, reason) == ("eligible", "pending"))


def _setup(session: Session) -> tuple[int, int]:
    contact, flow = Contact(external_id="c"), Flow(key="f", definition={})
    session.add_all([contact, flow])
    session.flush()
    assert contact.id is not None and flow.id is not None
    return contact.id, flow.id


def _event(session: Session, contact_id: int, key: str) -> int:
    event = Event(type="t", contact_id=contact_id, idempotency_key=key)
    session.add(event)
    session.flush()
    assert event.id is not None
    return event.id


def _orm_delivery(session: Session, ids: tuple[int, int], key: str, **values: object) -> Delivery:
    delivery = Delivery(event_id=_event(session, ids[0], key), flow_id=ids[1], flow_key="f", contact_id=ids[0],
                        channel="sms", due_at=AT, token=key, created_at=AT, **values)
    session.add(delivery)
    return delivery


def _answer(delivery: Delivery, comment: str | None) -> Response:
    assert delivery.id is not None
    return Response(delivery_id=delivery.id, flow_key="f", channel=delivery.channel, contact_id=delivery.contact_id,
                    question="nps", score=9, band="promoter", comment=comment, answered_at=AT)


def _agrees(engine: sa.Engine) -> Counter[tuple]:
    with read_session(engine) as session:
        counted = +counted_from_rows(session)
        assert tallied(session) == counted
    return counted


def test_the_funnel_tally_follows_orm_and_sql_writes_and_leaves_test_sends_out(database_url: str) -> None:
    engine = make_engine(database_url)
    day = AT.date()
    try:
        with session_scope(engine) as session:
            ids = _setup(session)
            waiting = _orm_delivery(session, ids, "waiting")
            _orm_delivery(session, ids, "throttled", status=DeliveryStatus.SUPPRESSED, last_error="throttled")
            _orm_delivery(session, ids, "opted-out", status=DeliveryStatus.SUPPRESSED)
            _orm_delivery(session, ids, "unreachable", status=DeliveryStatus.FAILED)
            _orm_delivery(session, ids, "bounced", status=DeliveryStatus.FAILED, sent_at=AT)
            sent = _orm_delivery(session, ids, "sent", status=DeliveryStatus.SENT, sent_at=AT)
            test = _orm_delivery(session, ids, "test", status=DeliveryStatus.SENT, sent_at=AT, is_test=True)
            raw = create_delivery(session, NewDelivery(
                event_id=_event(session, ids[0], "raw"), flow_id=ids[1], flow_key="f", contact_id=ids[0],
                channel="email", channel_plan=["email"], due_at=AT, token="raw", created_at=AT))
        counted = _agrees(engine)
        assert counted[(day, "f", "sms", "eligible", "pending")] == 0  # waiting: counted from the rows
        assert waiting_now(engine) == [("email", 1), ("sms", 1)]
        assert counted[(day, "f", "sms", "eligible", "throttled")] == 1
        assert counted[(day, "f", "sms", "eligible", "opted_out")] == 1
        assert counted[(day, "f", "sms", "eligible", "unreachable")] == 1
        assert counted[(day, "f", "sms", "sent", "failed")] == 1
        assert counted[(day, "f", "sms", "delivered", "awaiting")] == 1  # the test send is not counted

        with session_scope(engine) as session:  # a fallback to email, then sent; answers with SQL and the ORM
            moved = session.get(Delivery, waiting.id)
            assert moved is not None
            moved.channel, moved.sent_at = "email", AT
            record_status(session, moved, DeliveryStatus.SENT)
            answered = session.get(Delivery, sent.id)
            assert answered is not None
            save_response(session, _answer(answered, None), None)
            answered.status = DeliveryStatus.ANSWERED
            save_conversation(session, answered, [(DeliveryStatus.ANSWERED, None)])
            session.add(_answer(test, "a test comment"))
        counted = _agrees(engine)
        assert waiting_now(engine) == [("email", 1)]
        assert counted[(day, "f", "email", "delivered", "awaiting")] == 1
        assert counted[(day, "f", "sms", "answered", "")] == 1
        assert counted[(day, "f", "sms", "delivered", "awaiting")] == 0

        with session_scope(engine) as session:  # the comment comes later, on the answer path
            before = response_for_delivery(session, sent.id or 0)
            assert before is not None
            after = Response(**before.model_dump())
            after.comment = "quick and friendly"
            save_response(session, after, before)
        assert _agrees(engine)[(day, "f", "sms", "commented", "")] == 1

        with session_scope(engine) as session:
            gone = session.exec(select(Response).where(Response.delivery_id == sent.id)).one()
            session.delete(gone)
            expired = session.get(Delivery, raw.id)
            assert expired is not None
            record_status(session, expired, DeliveryStatus.EXPIRED)
        counted = _agrees(engine)
        assert counted[(day, "f", "sms", "commented", "")] == 0
        assert counted[(day, "f", "email", "eligible", "expired")] == 1
        assert sum(counted.values()) == 7  # eight deliveries, the test send left out
    finally:
        engine.dispose()


def _answer_on_the_answer_path(engine: sa.Engine, delivery_id: int, said: bool | None, comment: str | None) -> None:
    """As bot.inbound writes a reply: the delivery read locked, its state saved saying whether the answer being
    recorded has a comment (`said`), then the response."""
    with session_scope(engine) as session:
        found = delivery_with_context(session, delivery_id)
        assert found is not None
        delivery = found[0]
        before = response_for_delivery(session, delivery_id)
        save_conversation(session, delivery, [] if before else [(DeliveryStatus.ANSWERED, None)], said)
        after = _answer(delivery, comment) if before is None else Response(**before.model_dump())
        after.comment = comment
        save_response(session, after, before)


def test_the_answer_path_settles_its_delivery_and_a_different_answer_is_read_again(database_url: str) -> None:
    engine = make_engine(database_url)
    day = AT.date()
    try:
        with session_scope(engine) as session:
            ids = _setup(session)
            first = _orm_delivery(session, ids, "first", status=DeliveryStatus.SENT, sent_at=AT)
            second = _orm_delivery(session, ids, "second", status=DeliveryStatus.SENT, sent_at=AT)
        assert first.id is not None and second.id is not None
        _answer_on_the_answer_path(engine, first.id, False, None)
        _answer_on_the_answer_path(engine, second.id, False, "said more than the path knew")
        counted = _agrees(engine)
        assert (counted[(day, "f", "sms", "answered", "")], counted[(day, "f", "sms", "commented", "")]) == (1, 1)
        _answer_on_the_answer_path(engine, first.id, True, "the comment, a minute later")
        assert _agrees(engine)[(day, "f", "sms", "commented", "")] == 2
    finally:
        engine.dispose()


def test_a_rolled_back_change_leaves_the_funnel_tally_as_it_was(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            delivery = _orm_delivery(session, _setup(session), "d", status=DeliveryStatus.SENT, sent_at=AT)
        before = _agrees(engine)
        session = Session(engine, expire_on_commit=False)
        try:
            row = session.get(Delivery, delivery.id)
            assert row is not None
            record_status(session, row, DeliveryStatus.FAILED)
            session.flush()
            session.rollback()
        finally:
            session.close()
        assert _agrees(engine) == before
    finally:
        engine.dispose()


def _seed_0022(url: str) -> None:
    """Deliveries as the previous release left them: answered with and without a comment, suppressed, failed,
    expired, waiting, and a test send."""
    engine = make_engine(url)
    rows = [  # status, sent, last_error, answer: None, "" or a comment, is_test
        ("completed", True, None, "late again", False),
        ("completed", True, None, "", False),
        ("suppressed", False, "throttled", None, False),
        ("failed", False, "template: missing name", None, False),
        ("expired", True, None, None, False),
        ("scheduled", False, None, None, False),
        ("completed", True, None, "mine", True),
    ]
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO contact (external_id, attributes, created_at, updated_at) "
                             "VALUES ('c', '{}', '2026-01-01', '2026-01-01')")
        conn.exec_driver_sql("INSERT INTO flow (key, version, name, definition, enabled, current, created_at) "
                             "VALUES ('f', 1, 'f', '{}', true, true, '2026-01-01')")
        for i, (status, sent, error, comment, is_test) in enumerate(rows, 1):
            at = f"2026-01-0{1 + i % 2} 23:30:00"
            conn.exec_driver_sql(
                "INSERT INTO event (type, contact_id, properties, idempotency_key, occurred_at, received_at) "
                f"VALUES ('t', 1, '{{}}', 'k{i}', '{at}', '{at}')")
            conn.execute(sa.text(
                "INSERT INTO delivery (event_id, flow_id, flow_key, contact_id, channel, channel_plan, status, "
                "due_at, attempts, token, conversation, reprompts, sent_at, last_error, created_at, updated_at, "
                "is_test) VALUES (:i, 1, 'f', 1, 'sms', '[]', :status, :at, 1, :token, 'closed', 0, :sent, :error, "
                ":at, :at, :test)"),
                {"i": i, "status": status, "at": at, "token": f"t{i}", "sent": at if sent else None, "error": error,
                 "test": is_test})
            if comment is not None:
                conn.execute(sa.text(
                    "INSERT INTO response (delivery_id, flow_key, channel, contact_id, question, score, band, "
                    "comment, themes, mismatch, answered_at, updated_at, is_test) VALUES (:i, 'f', 'sms', 1, "
                    "'nps', 9, 'promoter', :comment, '[]', false, :at, :at, :test)"),
                    {"i": i, "comment": comment or None, "at": at, "test": is_test})
    engine.dispose()


def test_migration_fills_the_funnel_tally_from_the_stored_deliveries(database_url: str, tmp_path: Path) -> None:
    with empty_database(database_url, tmp_path) as old:
        upgrade(old, "0022")
        _seed_0022(old)
        upgrade(old)
        engine = make_engine(old)
        assert {"funneltally", "segmenttally", "talliedsegment"} <= set(sa.inspect(engine).get_table_names())
        with read_session(engine) as session:
            assert tallied(session) == +counted_from_rows(session)
            steps = sorted((day, step, reason, n) for day, _f, _c, step, reason, n in
                           ((*key, n) for key, n in tallied(session).items()))
        # Odd rows on 2 January, even ones on the 1st (23:30 UTC stays on its day); the test send (7) nowhere.
        assert steps == [(date(2026, 1, 1), "answered", "", 1), (date(2026, 1, 1), "eligible", "template_error", 1),
                         (date(2026, 1, 2), "commented", "", 1),
                         (date(2026, 1, 2), "delivered", "expired", 1), (date(2026, 1, 2), "eligible", "throttled", 1)]
        assert waiting_now(engine) == [("sms", 1)]
        with session_scope(engine) as session:  # and the writes that follow move the tally from there
            row = session.get(Delivery, 6)
            assert row is not None
            record_status(session, row, DeliveryStatus.CANCELLED)
        with read_session(engine) as session:
            assert tallied(session) == +counted_from_rows(session)
            assert tallied(session)[(date(2026, 1, 1), "f", "sms", "eligible", "cancelled")] == 1
        engine.dispose()
        command.downgrade(alembic_config(old), "0022")
        engine = make_engine(old)
        inspector = sa.inspect(engine)
        assert not {"funneltally", "segmenttally", "talliedsegment"} & set(inspector.get_table_names())
        assert "funnel_tally" not in {c["name"] for c in inspector.get_columns("delivery")}
        engine.dispose()
