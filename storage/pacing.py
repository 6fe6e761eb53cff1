"""Send slots per provider sender, so every worker together keeps to the rate the provider accepts.

A sender's row holds the next free slot. Taking slots locks the row for the length of a claim, moves it
forward by one interval per message, and hands each message its own moment to be sent; nobody takes slots
further ahead than the horizon, so a burst of ten thousand surveys waits in the database, not in memory.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from storage.models import SenderPace
from storage.upsert import insert_or_merge


def _locked_row(session: Session, sender: str, now: datetime) -> SenderPace:
    insert = insert_or_merge(session.connection(), SenderPace).values(sender=sender, next_at=now)
    session.execute(insert.on_conflict_do_nothing(index_elements=["sender"]))
    row = session.get(SenderPace, sender, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


def free_slots(session: Session, sender: str, pace: float, now: datetime, horizon: timedelta) -> int:
    """How many messages the sender can still take between now and now + horizon (locks its row)."""
    row = _locked_row(session, sender, now)
    start = max(row.next_at, now)
    return max(0, int((now + horizon - start).total_seconds() * pace))


def take_slots(session: Session, sender: str, pace: float, now: datetime, count: int) -> list[datetime]:
    """The send moments of the next `count` messages, in the caller's transaction."""
    row = _locked_row(session, sender, now)
    start, interval = max(row.next_at, now), timedelta(seconds=1 / pace)
    row.next_at = start + interval * count
    session.add(row)
    return [start + interval * i for i in range(count)]


def hold_sender(session: Session, sender: str, until: datetime) -> None:
    """The provider asked us to slow down: no slot before `until`, for every worker."""
    row = _locked_row(session, sender, until)
    row.next_at = max(row.next_at, until)
    session.add(row)
