"""What the support workbench reads: the inbox of cases, the counts per queue, a customer's answers and a
case's thread.

The inbox is sorted by due time and paged by keyset (due_at, id), never OFFSET, so the hundredth page costs what
the first does. Unresolved cases have partial indexes of their own (revision 0010): they are the few among many
resolved ones that the inbox and the counts read. Conditions that those indexes' predicate must match are
written as literals, not parameters: PostgreSQL cannot prove a partial index's predicate from `$1`, and a
statement run often enough gets a generic plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Session, col, select

from storage.models import Activity, Contact, FollowUp, FollowUpStatus, Message, Queue, Response
from storage.types import UTCDateTime

UNRESOLVED = "unresolved"  # a status filter: open or claimed


def _is(value: str) -> sa.ColumnElement[bool]:
    return FollowUp.__table__.c.status == sa.literal_column(f"'{FollowUpStatus(value).value}'")


_NOT_RESOLVED = FollowUp.__table__.c.status != sa.literal_column(f"'{FollowUpStatus.RESOLVED.value}'")


@dataclass(frozen=True)
class CaseFilters:
    """The inbox's filters; None is "any". `assignee` is one person; `unassigned` asks for cases nobody has."""

    queue: str | None = None
    status: str | None = None  # open, claimed, resolved or unresolved
    priority: str | None = None
    assignee: str | None = None
    unassigned: bool = False
    flow: str | None = None
    channel: str | None = None
    band: str | None = None
    sentiment: str | None = None
    theme: str | None = None
    created_since: datetime | None = None
    created_until: datetime | None = None


@dataclass(frozen=True)
class CaseRow:
    """A case as the inbox lists it: the case, its queue's key, the answer that opened it and who gave it."""

    followup: FollowUp
    queue: str
    response: Response
    external_id: str
    customer: str | None  # the contact's name


CaseCursor = tuple[datetime, int]  # the (due_at, id) of the last case of a page


def list_cases(session: Session, filters: CaseFilters, after: CaseCursor | None = None, limit: int = 50
               ) -> list[CaseRow]:
    """Cases matching every filter, soonest due first (then by id), after the cursor."""
    query = (
        select(FollowUp, Queue.key, Response, Contact.external_id, Contact.name)
        .join(Queue, col(Queue.id) == FollowUp.queue_id)
        .join(Response, col(Response.id) == FollowUp.response_id)
        .join(Contact, col(Contact.id) == FollowUp.contact_id)
        .where(*_conditions(session, filters))
    )
    if after is not None:
        due, last_id = after
        query = query.where(sa.tuple_(col(FollowUp.due_at), col(FollowUp.id))
                            > sa.tuple_(sa.bindparam("after_due", due, type_=UTCDateTime), sa.literal(last_id)))
    rows = session.exec(query.order_by(col(FollowUp.due_at), col(FollowUp.id)).limit(limit)).all()
    return [CaseRow(followup, key, response, external_id, name) for followup, key, response, external_id, name in rows]


def _conditions(session: Session, f: CaseFilters) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if f.status == UNRESOLVED:
        where.append(_NOT_RESOLVED)
    elif f.status is not None:
        where.append(_is(f.status))
        if f.status != FollowUpStatus.RESOLVED:
            where.append(_NOT_RESOLVED)  # implied, and what lets the partial indexes serve
    if f.queue is not None:
        where.append(Queue.key == f.queue)
    if f.priority is not None:
        where.append(FollowUp.priority == f.priority)
    if f.unassigned:
        where.append(col(FollowUp.assignee).is_(None))
    elif f.assignee is not None:
        where.append(FollowUp.assignee == f.assignee)
    if f.channel is not None:
        where.append(FollowUp.channel == f.channel)
    if f.created_since is not None:
        where.append(FollowUp.created_at >= f.created_since)
    if f.created_until is not None:
        where.append(FollowUp.created_at < f.created_until)
    if f.flow is not None:
        where.append(Response.flow_key == f.flow)
    if f.band is not None:
        where.append(Response.band == f.band)
    if f.sentiment is not None:
        where.append(Response.sentiment == f.sentiment)
    if f.theme is not None:
        where.append(_has_theme(session, f.theme))
    return where


def _has_theme(session: Session, theme: str) -> sa.ColumnElement[bool]:
    """The answer's themes (a JSON list) include `theme`: JSONB containment on PostgreSQL, json_each on SQLite."""
    themes = Response.__table__.c.themes
    if session.connection().dialect.name == "postgresql":
        return sa.type_coerce(themes, JSONB).contains([theme])
    each = sa.func.json_each(themes).table_valued("value")
    return sa.exists(sa.select(1).select_from(each).where(each.c.value == theme))


@dataclass(frozen=True)
class QueueCounts:
    open: int  # unresolved, claimed or not
    due_soon: int  # unresolved and due within the window from now
    overdue: int  # unresolved and past their due time


def queue_counts(session: Session, now: datetime, soon: timedelta) -> dict[int, QueueCounts]:
    """Per queue id, from the unresolved cases alone (a partial index holds just them)."""
    due = col(FollowUp.due_at)
    upto = sa.bindparam("soon_until", now + soon, type_=UTCDateTime)
    at = sa.bindparam("now", now, type_=UTCDateTime)
    rows = session.exec(
        select(
            FollowUp.queue_id,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((sa.and_(due >= at, due < upto), 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((due < at, 1), else_=0)), 0),
        )
        .where(_NOT_RESOLVED)
        .group_by(FollowUp.queue_id)
    ).all()
    return {queue_id: QueueCounts(int(n), int(soon_n), int(late)) for queue_id, n, soon_n, late in rows}


@dataclass(frozen=True)
class PastAnswer:
    """One of the customer's answers, with the case it opened, if any."""

    response: Response
    case_id: int | None
    case_status: str | None


def contact_answers(session: Session, contact_id: int, limit: int = 20, before: tuple[datetime, int] | None = None
                    ) -> list[PastAnswer]:
    """The contact's answers across flows and channels, newest first; `before` continues after the (answered_at,
    id) of the last one shown."""
    query = (
        select(Response, FollowUp.id, FollowUp.status)
        .outerjoin(FollowUp, col(FollowUp.response_id) == Response.id)
        .where(Response.contact_id == contact_id)
    )
    if before is not None:
        at, last_id = before
        query = query.where(sa.tuple_(col(Response.answered_at), col(Response.id))
                            < sa.tuple_(sa.bindparam("before_at", at, type_=UTCDateTime), sa.literal(last_id)))
    rows = session.exec(query.order_by(col(Response.answered_at).desc(), col(Response.id).desc()).limit(limit)).all()
    return [PastAnswer(response, case_id, status) for response, case_id, status in rows]


@dataclass(frozen=True)
class ThreadEntry:
    """One step of a case's thread: a message in or out (with the trail entry that names who sent it, for an
    agent's reply), or a trail entry of its own (claimed, note, resolved...)."""

    at: datetime
    message: Message | None = None
    activity: Activity | None = None


def case_thread(session: Session, followup: FollowUp, delivery_ids: list[int] | None = None) -> list[ThreadEntry]:
    """Everything that happened in the case in time order: the survey and its reminder, the customer's answer
    and comment, the agent's replies and what the customer wrote back, and every trail entry. `delivery_ids` are
    the surveys whose messages belong (the case's own, and its "did we fix it?" survey)."""
    assert followup.id is not None
    ids = delivery_ids or [followup.delivery_id]
    messages = session.exec(
        select(Message).where(col(Message.delivery_id).in_(ids)).order_by(col(Message.created_at), col(Message.id))
    ).all()
    trail = session.exec(
        select(Activity).where(Activity.followup_id == followup.id).order_by(col(Activity.at), col(Activity.id))
    ).all()
    by_message = {a.message_id: a for a in trail if a.message_id is not None}
    entries = [ThreadEntry(m.created_at, m, by_message.get(m.id)) for m in messages]
    shown = {m.id for m in messages}
    entries += [ThreadEntry(a.at, None, a) for a in trail if a.message_id is None or a.message_id not in shown]
    # Stable: a message and the trail entry written in the same instant keep their own order.
    return sorted(entries, key=lambda e: (e.at, 0 if e.message is not None else 1))
