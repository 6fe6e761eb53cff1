"""What the score alerts and the insights digest keep and read: drop episodes, digests sent, the themes of
unhappy answers, and who is told (the admins' addresses, the queues' Slack channels)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import InsightsDigest, Queue, Response, Role, ScoreAlert, User
from storage.upsert import INSERTS


def open_alerts(session: Session) -> dict[str, ScoreAlert]:
    """The episodes not yet recovered, by their open key."""
    rows = session.exec(select(ScoreAlert).where(col(ScoreAlert.open_key).is_not(None))).all()
    return {row.open_key: row for row in rows if row.open_key is not None}


def start_alert(session: Session, values: dict[str, Any]) -> int | None:
    """A new episode for values["open_key"]; None when one is open already (another worker saw the drop first)."""
    insert = INSERTS[session.connection().dialect.name](ScoreAlert.__table__)
    statement = insert.values(**values).on_conflict_do_nothing(index_elements=["open_key"]).returning(
        ScoreAlert.__table__.c.id)
    return session.connection().execute(statement).scalar()


def set_notified(session: Session, alert_id: int, notified: str) -> None:
    session.connection().execute(sa.update(ScoreAlert).where(col(ScoreAlert.id) == alert_id).values(notified=notified))


def close_alert(session: Session, alert_id: int, at: datetime) -> None:
    """The score recovered: the episode ends and the flow (or segment) can fire again."""
    session.connection().execute(
        sa.update(ScoreAlert).where(col(ScoreAlert.id) == alert_id).values(open_key=None, recovered_at=at))


def alert_history(session: Session, limit: int) -> list[ScoreAlert]:
    """The latest episodes first."""
    return list(session.exec(select(ScoreAlert).order_by(col(ScoreAlert.id).desc()).limit(limit)).all())


def top_themes(session: Session, flow: str, since: datetime, until: datetime, *, channel: str | None = None,
               unhappy: bool = False, limit: int = 3) -> list[tuple[str, int]]:
    """The themes most often tagged on the flow's commented answers in [since, until), with their counts;
    `unhappy`: only detractors' answers and negative comments. Reads the window through the answered_at index."""
    conditions: list[Any] = [col(Response.answered_at) >= since, col(Response.answered_at) < until,
                             Response.flow_key == flow, col(Response.recheck_of).is_(None),
                             col(Response.comment).is_not(None)]
    if channel is not None:
        conditions.append(Response.channel == channel)
    if unhappy:
        conditions.append(sa.or_(Response.band == "detractor", Response.sentiment == "negative"))
    counts: Counter[str] = Counter()
    for themes in session.exec(select(Response.themes).where(*conditions)):
        counts.update(set(themes or ()))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


def admin_emails(session: Session) -> list[str]:
    """The enabled admins' addresses: the people told of drops and sent the digest."""
    query = select(User.email).where(User.role == Role.ADMIN, col(User.disabled_at).is_(None)).order_by(User.email)
    return list(session.exec(query).all())


def slack_channels_of(session: Session, queue_keys: Iterable[str]) -> list[str]:
    """The Slack channels of these queues (those that have one), each once."""
    keys = sorted(set(queue_keys))
    if not keys:
        return []
    query = select(Queue.slack_channel).where(col(Queue.key).in_(keys), col(Queue.slack_channel).is_not(None))
    return sorted({channel for channel in session.exec(query).all() if channel})


def claim_digest(session: Session, period: str, start: date, recipients: int, at: datetime) -> bool:
    """Note the digest of this period as sent; False when it was already (by this worker or another)."""
    insert = INSERTS[session.connection().dialect.name](InsightsDigest.__table__)
    statement = insert.values(period=period, period_start=start, recipients=recipients, sent_at=at)
    statement = statement.on_conflict_do_nothing(index_elements=["period", "period_start"]).returning(
        InsightsDigest.__table__.c.id)
    return session.connection().execute(statement).scalar() is not None
