"""The theme tallies the dashboard reads follow every answer written, changed or deleted, and migration 0022
fills them from the answers already stored."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session, select

from storage.db import make_engine, read_session, session_scope
from storage.migrate import alembic_config, upgrade
from storage.models import Contact, Delivery, Event, Flow, Response, ThemeTally
from tests.storage.test_insights_tallies import _seed_0009
from tests.storage.test_migrations import empty_database


def recount(session: Session) -> Counter[tuple]:
    """(day, theme, band, counter) from the rows: each scored answer once per distinct theme."""
    counts: Counter[tuple] = Counter()
    for r in session.exec(select(Response)):
        if r.score is None or r.recheck_of is not None:
            continue
        for theme in set(r.themes or ()):
            key = (r.answered_at.date(), theme, r.band or "")
            counts[(*key, "n")] += 1
            counts[(*key, "sum")] += r.score
            counts[(*key, "squares")] += r.score**2
    return +counts


def tallied(session: Session) -> Counter[tuple]:
    counts: Counter[tuple] = Counter()
    t = ThemeTally
    query = sa.select(t.day, t.theme, t.band, sa.func.sum(t.scored), sa.func.sum(t.score_sum),
                      sa.func.sum(t.score_sq_sum)).group_by(t.day, t.theme, t.band)
    for day, theme, band, n, total, squares in session.execute(query).all():
        counts[(day, theme, band, "n")] += int(n)
        counts[(day, theme, band, "sum")] += int(total)
        counts[(day, theme, band, "squares")] += int(squares)
    return +counts


def _answers(session: Session, themes: list[list[str]]) -> list[Response]:
    contact, flow = Contact(external_id="c"), Flow(key="f", definition={})
    session.add_all([contact, flow])
    session.flush()
    rows = []
    for i, these in enumerate(themes):
        at = datetime(2026, 3, 2 + i % 2, 12, tzinfo=UTC)
        event = Event(type="t", contact_id=contact.id, idempotency_key=f"k{i}")
        session.add(event)
        session.flush()
        delivery = Delivery(event_id=event.id, flow_id=flow.id, flow_key="f", contact_id=contact.id,
                            channel="sms", due_at=at, token=f"t{i}", sent_at=at)
        session.add(delivery)
        session.flush()
        rows.append(Response(delivery_id=delivery.id, flow_key="f", channel="sms", contact_id=contact.id,
                             question="nps", score=i % 11, band="detractor" if i % 11 < 7 else "promoter",
                             themes=these, answered_at=at))
    session.add_all(rows)
    return rows


def test_theme_tallies_follow_writes_changes_and_deletes(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            _answers(session, [["delivery"], ["delivery", "price"], ["price", "price"], [], ["staff"]] * 3)
        with session_scope(engine) as session:
            rows = session.exec(select(Response).order_by(Response.id)).all()
            rows[0].themes = ["price"]  # re-tagged
            rows[1].score, rows[1].band = 10, "promoter"  # a corrected score moves its themes' sums
            session.delete(rows[4])
        with read_session(engine) as session:
            assert tallied(session) == recount(session)
            assert tallied(session)[(datetime(2026, 3, 3).date(), "price", "detractor", "n")] > 0
    finally:
        engine.dispose()


def test_migration_fills_the_theme_tallies_from_the_stored_answers(database_url: str, tmp_path: Path) -> None:
    with empty_database(database_url, tmp_path) as old:
        upgrade(old, "0016")
        _seed_0009(old)
        engine = make_engine(old)
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE response SET themes = '[\"delivery\", \"price\", \"delivery\"]' "
                                 "WHERE id IN (1, 3)")
        engine.dispose()
        upgrade(old)
        engine = make_engine(old)
        with read_session(engine) as session:
            assert tallied(session) == recount(session)
            assert len(tallied(session)) == 12  # two days x two themes x n, sum, squares
        engine.dispose()
        command.downgrade(alembic_config(old), "0016")
        engine = make_engine(old)
        assert "themetally" not in sa.inspect(engine).get_table_names()
        engine.dispose()
