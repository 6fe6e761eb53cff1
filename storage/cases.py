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
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Session, col, select

from storage.models import (
    Activity,
    Contact,
    Delivery,
    DeliveryStatus,
    FollowUp,
    FollowUpStatus,
    Message,
    Queue,
    Response,
)
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
        if f.status != FollowUpStatus.RESOLVED and session.connection().dialect.name == "sqlite":
            # PostgreSQL proves the partial indexes' `status <> 'resolved'` from `status = 'open'`; SQLite needs
            # the term itself. (Said to PostgreSQL too, it counts the condition twice and misjudges how many match.)
            where.append(_NOT_RESOLVED)
    if f.queue is not None:
        # The queue's id, not a join on its key: a constant lets the planner walk that queue's index in due order.
        where.append(FollowUp.queue_id == sa.select(Queue.id).where(Queue.key == f.queue).scalar_subquery())
    if f.priority is not None:
        where.append(FollowUp.priority == f.priority)
    if f.unassigned:
        where.append(col(FollowUp.assignee).is_(None))
    elif f.assignee is not None:
        where.append(FollowUp.assignee == f.assignee)
    if f.channel is not None:
        where.append(FollowUp.channel == f.channel)
    if f.created_since is not None:
        # A case is never due before it was opened: said outright, the due-order walk starts where the period does.
        where.extend([FollowUp.created_at >= f.created_since, FollowUp.due_at >= f.created_since])
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


@dataclass(frozen=True)
class QueueFigures:
    """How a queue closed the loop for the cases opened in a period."""

    cases: int
    replied: int  # cases with an agent's reply
    first_response_seconds: float | None  # mean time from opening to the first reply
    resolved: int
    resolution_seconds: float | None  # mean time from opening to (the latest) resolution
    resolved_in_time: int  # resolved before they were due
    overdue_open: int  # not resolved and past due: the SLA is missed already
    rechecks_answered: int  # "did we fix it?" answers with a score
    recovered: int  # ... that were not a detractor's

    @property
    def sla_kept(self) -> float | None:
        """Resolved in time, among the cases whose SLA is decided (resolved, or open past due)."""
        decided = self.resolved + self.overdue_open
        return self.resolved_in_time / decided if decided else None

    @property
    def recovery_rate(self) -> float | None:
        return self.recovered / self.rechecks_answered if self.rechecks_answered else None


def _seconds(dialect: str, later: Any, earlier: Any) -> Any:
    if dialect == "postgresql":
        return sa.extract("epoch", later - earlier)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


def queue_figures(session: Session, since: datetime, until: datetime, now: datetime, *, flow: str | None = None,
                  channel: str | None = None) -> dict[int, QueueFigures]:
    """Per queue id, for the cases opened in [since, until) (from surveys of `flow`, on `channel`, when given): two
    grouped queries, through the created_at index and the partial index of re-survey answers."""
    dialect = session.connection().dialect.name
    f = FollowUp.__table__.c
    resolved = f.status == sa.literal_column("'resolved'")
    window: tuple[Any, ...] = (f.created_at >= sa.bindparam("since", since, type_=UTCDateTime),
                               f.created_at < sa.bindparam("until", until, type_=UTCDateTime))
    if flow is not None:
        d = Delivery.__table__.c
        window += (sa.exists().where(d.id == f.delivery_id, d.flow_key == sa.bindparam("flow", flow)),)
    if channel is not None:
        window += (f.channel == sa.bindparam("channel", channel),)

    def count_if(condition: Any) -> Any:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    rows = session.exec(select(  # type: ignore[call-overload]
        f.queue_id,
        sa.func.count(),
        sa.func.count(f.first_reply_at),
        sa.func.avg(_seconds(dialect, f.first_reply_at, f.created_at)),
        count_if(resolved),
        sa.func.avg(sa.case((resolved, _seconds(dialect, f.resolved_at, f.created_at)))),
        count_if(sa.and_(resolved, f.resolved_at <= f.due_at)),
        count_if(sa.and_(~resolved, f.due_at < sa.bindparam("now", now, type_=UTCDateTime))),
    ).where(*window).group_by(f.queue_id)).all()
    r = Response.__table__.c
    answers = (
        select(f.queue_id, sa.func.count(), count_if(r.band != "detractor"))  # type: ignore[call-overload]
        .select_from(Response.__table__)
        .join(FollowUp.__table__, f.id == r.recheck_of)
        .where(r.recheck_of.is_not(None), r.score.is_not(None), *window)
        .group_by(f.queue_id)
    )
    rechecks = {queue_id: (int(n), int(ok)) for queue_id, n, ok in session.exec(answers).all()}
    return {
        queue_id: QueueFigures(
            int(cases), int(replied), _float(first), int(done), _float(resolution), int(in_time), int(late),
            *rechecks.get(queue_id, (0, 0)),
        )
        for queue_id, cases, replied, first, done, resolution, in_time, late in rows
    }


@dataclass(frozen=True)
class QueueMedians:
    """The middle case's times (p50), for the cases opened in a period; None when no case has that time yet."""

    first_response_seconds: float | None
    resolution_seconds: float | None


def queue_medians(session: Session, since: datetime, until: datetime) -> dict[int, QueueMedians]:
    """Per queue id, the median time to the first reply and to resolution of the cases opened in [since, until).
    Medians, not means: one case left a month skews a mean but not what a customer usually waits. Ranked with
    window functions, so both databases compute it the same way."""
    dialect = session.connection().dialect.name
    f = FollowUp.__table__.c
    window = (f.created_at >= sa.bindparam("since", since, type_=UTCDateTime),
              f.created_at < sa.bindparam("until", until, type_=UTCDateTime))
    replied = f.first_reply_at.is_not(None)
    first = _medians(session, _seconds(dialect, f.first_reply_at, f.created_at), [*window, replied])
    resolved = f.status == sa.literal_column("'resolved'")
    done = _medians(session, _seconds(dialect, f.resolved_at, f.created_at), [*window, resolved])
    return {queue_id: QueueMedians(first.get(queue_id), done.get(queue_id)) for queue_id in first.keys() | done.keys()}


def _medians(session: Session, seconds: Any, where: list[Any]) -> dict[int, float]:
    f = FollowUp.__table__.c
    ranked = select(  # type: ignore[call-overload]
        f.queue_id.label("queue_id"),
        seconds.label("seconds"),
        sa.func.row_number().over(partition_by=f.queue_id, order_by=seconds).label("rank"),
        sa.func.count().over(partition_by=f.queue_id).label("n"),
    ).where(*where).subquery()
    # The middle row of n (n odd), or the mean of the two middle ones (n even): 2*rank within [n, n + 2].
    middle = sa.and_(ranked.c.rank * 2 >= ranked.c.n, ranked.c.rank * 2 <= ranked.c.n + 2)
    rows = session.exec(select(ranked.c.queue_id, sa.func.avg(ranked.c.seconds))  # type: ignore[call-overload]
                        .where(middle).group_by(ranked.c.queue_id)).all()
    return {int(queue_id): float(value) for queue_id, value in rows if value is not None}


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def rechecks_not_sent(session: Session, followup_id: int) -> list[Delivery]:
    """The case's "did we fix it?" surveys still waiting to be sent."""
    waiting = [str(DeliveryStatus.SCHEDULED), str(DeliveryStatus.CLAIMED)]
    return list(session.exec(
        select(Delivery).where(Delivery.recheck_of == followup_id, col(Delivery.status).in_(waiting))
    ).all())


def recheck_deliveries(session: Session, followup_id: int) -> list[int]:
    """The case's "did we fix it?" surveys, oldest first: their messages belong in its thread."""
    rows = session.exec(select(Delivery.id).where(Delivery.recheck_of == followup_id).order_by(col(Delivery.id)))
    return [delivery_id for delivery_id in rows.all() if delivery_id is not None]


def latest_recheck_answer(session: Session, followup_id: int) -> Response | None:
    """The newest answer to the case's "did we fix it?" survey."""
    return session.exec(
        select(Response).where(Response.recheck_of == followup_id)
        .order_by(col(Response.answered_at).desc(), col(Response.id).desc())
    ).first()
