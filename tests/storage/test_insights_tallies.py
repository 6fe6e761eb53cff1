"""What the insights read is kept right: the squared scores in the response tallies (through corrections and
after migration 0011 fills them from the rows already stored), and the skipped events."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from alembic import command
from sqlmodel import Session, select

from storage.db import make_engine, read_session, session_scope
from storage.insights import Scope, daily_scores, skip_counts
from storage.migrate import alembic_config, upgrade
from storage.models import Response
from storage.tallies import note_skip
from tests.storage.test_migrations import empty_database
from tests.storage.test_tallies import _change_some, _store


def _recount(session: Session) -> Counter[tuple]:
    """(day, question, band) -> (n, sum, sum of squares), row by row; "did we fix it?" answers are their case's."""
    counts: Counter[tuple] = Counter()
    for r in session.exec(select(Response)):
        if r.score is not None and r.recheck_of is None:
            key = (r.answered_at.date(), r.question, r.band or "")
            counts[(*key, "n")] += 1
            counts[(*key, "sum")] += r.score
            counts[(*key, "squares")] += r.score**2
    return counts


def _tallied(session: Session) -> Counter[tuple]:
    counts: Counter[tuple] = Counter()
    for row in daily_scores(session, Scope()):
        key = (row.day, row.question, row.band)
        counts[(*key, "n")] += row.scored
        counts[(*key, "sum")] += row.score_sum
        counts[(*key, "squares")] += row.score_sq_sum
    return +counts


def test_squared_scores_follow_every_change(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            _store(session, 60)
        with session_scope(engine) as session:
            _change_some(session)
        with session_scope(engine) as session:
            assert _tallied(session) == +_recount(session)
    finally:
        engine.dispose()


def test_skips_are_counted_at_commit_and_not_after_a_rollback(database_url: str) -> None:
    engine = make_engine(database_url)
    day = date(2026, 3, 2)
    try:
        with session_scope(engine) as session:
            for reason in ("throttled", "throttled", "opted_out"):
                note_skip(session, day, "a", reason)
            note_skip(session, day, "b", "sampled_out")
        try:
            with session_scope(engine) as session:
                note_skip(session, day, "a", "throttled")
                raise RuntimeError
        except RuntimeError:
            pass
        with read_session(engine) as session:
            assert sorted(skip_counts(session, Scope())) == [
                (None, "opted_out", 1), (None, "sampled_out", 1), (None, "throttled", 2)]
            assert sorted(skip_counts(session, Scope(flow="a"), by="flow")) == [
                ("a", "opted_out", 1), ("a", "throttled", 2)]
            assert skip_counts(session, Scope(first_day=date(2026, 3, 3))) == []
    finally:
        engine.dispose()


def _seed_0009(url: str) -> None:
    """Answers stored before 0011, with their tallies split over two shards as the previous release kept them."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO contact (external_id, attributes, created_at, updated_at) "
                             "VALUES ('c', '{}', '2026-01-01', '2026-01-01')")
        conn.exec_driver_sql("INSERT INTO flow (key, version, name, definition, enabled, current, created_at) "
                             "VALUES ('f', 1, 'f', '{}', true, true, '2026-01-01')")
        scores = [(1, "2026-01-01 10:00:00", 3), (2, "2026-01-01 23:59:59", 5), (3, "2026-01-02 00:00:00", 6)]
        for i, at, score in scores:
            conn.exec_driver_sql(
                "INSERT INTO event (type, contact_id, properties, idempotency_key, occurred_at, received_at) "
                f"VALUES ('t', 1, '{{}}', 'k{i}', '{at}', '{at}')")
            conn.exec_driver_sql(
                "INSERT INTO delivery (event_id, flow_id, flow_key, contact_id, channel, channel_plan, status, "
                "due_at, attempts, token, conversation, reprompts, sent_at, created_at, updated_at) "
                f"VALUES ({i}, 1, 'f', 1, 'sms', '[]', 'completed', '{at}', 1, 't{i}', 'closed', 0, '{at}', "
                f"'{at}', '{at}')")
            conn.exec_driver_sql(
                "INSERT INTO response (delivery_id, flow_key, channel, contact_id, question, score, band, themes, "
                f"mismatch, answered_at, updated_at) VALUES ({i}, 'f', 'sms', 1, 'ces', {score}, 'passive', '[]', "
                f"false, '{at}', '{at}')")
        conn.exec_driver_sql(
            "INSERT INTO responsetally (day, flow_key, channel, question, band, sentiment, shard, answers, scored, "
            "score_sum) VALUES ('2026-01-01', 'f', 'sms', 'ces', 'passive', '', 2, 1, 1, 3), "
            "('2026-01-01', 'f', 'sms', 'ces', 'passive', '', 5, 1, 1, 5), "
            "('2026-01-02', 'f', 'sms', 'ces', 'passive', '', 7, 1, 1, 6)")
    engine.dispose()


def test_migration_fills_the_squares_from_the_stored_answers(database_url: str, tmp_path: Path) -> None:
    with empty_database(database_url, tmp_path) as old:
        upgrade(old, "0009")
        _seed_0009(old)
        upgrade(old)
        engine = make_engine(old)
        with read_session(engine) as session:
            rows = sorted((r.day, r.scored, r.score_sum, r.score_sq_sum) for r in daily_scores(session, Scope()))
        engine.dispose()
        # 2026-01-01: 3 and 5 -> 9 + 25 = 34; 2026-01-02: 6 -> 36
        assert rows == [(date(2026, 1, 1), 2, 8, 34), (date(2026, 1, 2), 1, 6, 36)]
        command.downgrade(alembic_config(old), "0009")
        engine = make_engine(old)
        with engine.connect() as conn:
            columns = [c[0] for c in conn.exec_driver_sql("SELECT * FROM responsetally").cursor.description]
        engine.dispose()
        assert "score_sq_sum" not in columns


def test_a_long_read_does_not_hold_back_writers(database_url: str) -> None:
    """An export streaming on SQLite must not take the write lock the worker and the web need."""
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            _store(session, 3)
        with read_session(engine) as reading:
            assert len(reading.exec(select(Response)).all()) == 2
            with session_scope(engine) as writing:
                writing.exec(select(Response)).first().comment = "written while an export reads"
            assert len(reading.exec(select(Response)).all()) == 2
        with read_session(engine) as session:
            assert session.exec(select(Response.comment).where(Response.comment.is_not(None))).all() == [
                "written while an export reads"]
    finally:
        engine.dispose()
