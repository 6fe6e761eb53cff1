"""Retention: what the service keeps only for a while. Each call clears at most `limit` rows, oldest first,
so a first run over years of data is many short transactions rather than one long lock."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import Activity, FollowUp, FollowUpStatus, Message, Response


def _ids(session: Session, statement: sa.Select, limit: int) -> list[int]:
    return list(session.exec(statement.limit(limit)))  # type: ignore[call-overload]


def forget_raw_payloads(session: Session, before: datetime, limit: int) -> int:
    """Provider payloads of messages stored before `before` and already processed (an unprocessed one is still
    the worker's to retry)."""
    ids = _ids(session, select(Message.id).where(
        Message.created_at < before, col(Message.raw).is_not(None),
        sa.or_(Message.direction == "out", col(Message.processed_at).is_not(None)),
    ).order_by(col(Message.id)), limit)
    if ids:
        session.execute(sa.update(Message).where(col(Message.id).in_(ids)).values(raw=sa.null()))
    return len(ids)


def forget_answer_texts(session: Session, before: datetime, limit: int) -> int:
    """What customers and agents wrote, before `before`: comments, message texts (and payloads), and the notes
    and replies of cases resolved by then. Scores, bands, sentiment, themes and the tallies stay."""
    cleared = 0
    comments = _ids(session, select(Response.id).where(
        Response.answered_at < before, col(Response.comment).is_not(None)).order_by(col(Response.id)), limit)
    if comments:
        session.execute(sa.update(Response).where(col(Response.id).in_(comments)).values(comment=None))
    cleared += len(comments)
    messages = _ids(session, select(Message.id).where(
        Message.created_at < before, sa.or_(Message.text != "", col(Message.raw).is_not(None)),
    ).order_by(col(Message.id)), limit)
    if messages:
        session.execute(sa.update(Message).where(col(Message.id).in_(messages)).values(text="", raw=sa.null()))
    cleared += len(messages)
    closed = select(FollowUp.id).where(FollowUp.status == FollowUpStatus.RESOLVED, col(FollowUp.resolved_at) < before)
    notes = _ids(session, select(Activity.id).where(
        col(Activity.followup_id).in_(closed.scalar_subquery()), col(Activity.text).is_not(None),
    ).order_by(col(Activity.id)), limit)
    if notes:
        session.execute(sa.update(Activity).where(col(Activity.id).in_(notes)).values(text=None))
    return cleared + len(notes)
