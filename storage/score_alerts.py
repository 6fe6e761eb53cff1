"""What the score alerts and the insights digest keep and read: drop episodes, digests sent, the themes of
unhappy answers, and who is told (the admins' addresses, the queues' Slack channels)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import Contact, Delivery, Event, InsightsDigest, Queue, Response, Role, ScoreAlert, User
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


def _segment_value(segment: str) -> Any:
    """The SQL value of a segment (`channel`, `contact.<attribute>`, `event.<property>`) for each response; the
    query must join what it names (see _joined)."""
    if segment == "channel":
        return Response.channel
    source, _, key = segment.partition(".")
    column = Contact.__table__.c.attributes if source == "contact" else Event.__table__.c.properties
    return column[key].as_string()


def _joined(query: Any, segment: str | None) -> Any:
    if segment is None or segment == "channel":
        return query
    if segment.startswith("contact."):
        return query.join(Contact, col(Contact.id) == Response.contact_id)
    query = query.join(Delivery, col(Delivery.id) == Response.delivery_id)
    return query.join(Event, col(Event.id) == Delivery.event_id)


def segment_scores(session: Session, flow: str, question: str, segment: str, since: datetime, split: datetime,
                   until: datetime) -> list[tuple[str, bool, str, int, int, int]]:
    """(segment value, in the window, band, answers, score sum, sum of squares) for the flow's scored answers in
    [since, until), the window being [split, until). Answers without the attribute or property are left out.
    A scan of the period's answers through the answered_at index: contact attributes and event properties
    have no tally."""
    value = _segment_value(segment).label("value")
    in_window = (col(Response.answered_at) >= split).label("in_window")
    score = col(Response.score)
    query = sa.select(value, in_window, Response.band, sa.func.count(), sa.func.sum(score),
                      sa.func.sum(score * score)).select_from(Response.__table__)
    query = _joined(query, segment).where(
        col(Response.answered_at) >= since, col(Response.answered_at) < until, Response.flow_key == flow,
        Response.question == question, col(Response.recheck_of).is_(None), Response.is_test == sa.false(),
        score.is_not(None), value.is_not(None),
    ).group_by(value, in_window, Response.band)
    return [(str(v), bool(w), str(b), int(n), int(t or 0), int(q or 0))
            for v, w, b, n, t, q in session.connection().execute(query)]


def top_themes(session: Session, flow: str, since: datetime, until: datetime, *,
               segment: tuple[str, str] | None = None, unhappy: bool = False, limit: int = 3) -> list[tuple[str, int]]:
    """The themes most often tagged on the flow's commented answers in [since, until), with their counts; in one
    segment (name, value) when given; `unhappy`: only detractors' answers and negative comments."""
    conditions: list[Any] = [col(Response.answered_at) >= since, col(Response.answered_at) < until,
                             Response.flow_key == flow, col(Response.recheck_of).is_(None),
                             Response.is_test == sa.false(), col(Response.comment).is_not(None)]
    if segment is not None:
        conditions.append(_segment_value(segment[0]) == segment[1])
    if unhappy:
        conditions.append(sa.or_(Response.band == "detractor", Response.sentiment == "negative"))
    counts: Counter[str] = Counter()
    query = _joined(select(Response.themes), segment[0] if segment else None).where(*conditions)
    for themes in session.exec(query):
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
