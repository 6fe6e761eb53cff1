"""Send slots: every worker together keeps a sender to its rate, and a provider's "slow down" holds it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from storage.db import make_engine, session_scope
from storage.pacing import free_slots, hold_sender, take_slots

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_slots_are_spaced_by_the_pace_and_bounded_by_the_horizon(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            assert free_slots(session, "sms", 2.0, NOW, timedelta(seconds=2)) == 4
            first = take_slots(session, "sms", 2.0, NOW, 3)
        with session_scope(engine) as session:
            assert free_slots(session, "sms", 2.0, NOW, timedelta(seconds=2)) == 1
            second = take_slots(session, "sms", 2.0, NOW, 1)
        assert first + second == [NOW + timedelta(seconds=s) for s in (0, 0.5, 1.0, 1.5)]
        with session_scope(engine) as session:
            later = NOW + timedelta(seconds=10)
            assert free_slots(session, "sms", 2.0, later, timedelta(seconds=2)) == 4
            assert take_slots(session, "sms", 2.0, later, 1) == [later]
    finally:
        engine.dispose()


def test_a_held_sender_gets_no_slot_before_the_hold_ends(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            hold_sender(session, "sms", NOW + timedelta(seconds=30))
        with session_scope(engine) as session:
            assert free_slots(session, "sms", 1.0, NOW, timedelta(seconds=2)) == 0
            assert take_slots(session, "sms", 1.0, NOW, 1) == [NOW + timedelta(seconds=30)]
        with Session(engine) as session:
            assert free_slots(session, "whatsapp", 1.0, NOW, timedelta(seconds=2)) == 2
    finally:
        engine.dispose()
