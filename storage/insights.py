"""The queries behind the insights: daily score tallies for the time series, skip and funnel tallies for the
funnel, and the rows of the CSV exports, streamed.

The series and the funnel read the daily tallies only. The exports are the one place that reads every row, and
they stream it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from storage.models import (
    Contact,
    Delivery,
    Event,
    FollowUp,
    FunnelTally,
    Queue,
    Response,
    ResponseTally,
    SkipTally,
)

EXPORT_BATCH = 1000
WAITING = ("scheduled", "claimed", "sending")  # deliveries waiting to be sent: see storage.funnel


@dataclass(frozen=True)
class Scope:
    """What an insight covers: whole UTC days [first_day, end_day), either end open, one flow or channel."""

    flow: str | None = None
    channel: str | None = None
    first_day: date | None = None
    end_day: date | None = None


@dataclass(frozen=True)
class DayScores:
    day: date
    group: str | None  # the flow or channel when grouped, else None
    question: str
    band: str
    scored: int
    score_sum: int
    score_sq_sum: int


# "flow+channel" groups by both, the group named "flow<PAIR>channel": one query serves a view of each.
PAIR = "\x1f"


def _grouping(model: Any, by: str | None) -> list[Any]:
    """The column(s) to group by, as a list: empty without `by` (PostgreSQL refuses a constant in GROUP BY)."""
    if by is None:
        return []
    if by == "flow+channel":
        return [model.flow_key.label("grp"), model.channel.label("grp2")]
    return [{"flow": model.flow_key, "channel": model.channel}[by].label("grp")]


def _group_of(row: Any, by: str | None) -> str | None:
    if by == "flow+channel":
        return f"{row.grp}{PAIR}{row.grp2}"
    return row.grp if by is not None else None


def _tally_conditions(model: Any, scope: Scope) -> list[Any]:
    conditions: list[Any] = []
    if scope.flow:
        conditions.append(model.flow_key == scope.flow)
    if scope.channel:
        conditions.append(model.channel == scope.channel)
    if scope.first_day is not None:
        conditions.append(model.day >= scope.first_day)
    if scope.end_day is not None:
        conditions.append(model.day < scope.end_day)
    return conditions


def daily_scores(session: Session, scope: Scope, by: str | None = None) -> list[DayScores]:
    """Scored answers per day (and flow or channel), question and band, shards summed."""
    keys = (ResponseTally.day, *_grouping(ResponseTally, by), ResponseTally.question, ResponseTally.band)
    query = (
        sa.select(*keys, sa.func.sum(ResponseTally.scored).label("n"), sa.func.sum(ResponseTally.score_sum).label("s"),
                  sa.func.sum(ResponseTally.score_sq_sum).label("q"))
        .where(ResponseTally.scored != 0, *_tally_conditions(ResponseTally, scope))
        .group_by(*keys)
    )
    return [DayScores(r.day, _group_of(r, by), r.question, r.band, int(r.n), int(r.s or 0), int(r.q or 0))
            for r in session.execute(query).all() if r.n]


def skip_counts(session: Session, scope: Scope, by: str | None = None) -> list[tuple[str | None, str, int]]:
    """(group, reason, events) for the events flows matched but did not survey."""
    keys = (*_grouping(SkipTally, by), SkipTally.reason)
    query = (
        sa.select(*keys, sa.func.sum(SkipTally.skipped).label("n"))
        .where(*_tally_conditions(SkipTally, scope))
        .group_by(*keys)
    )
    return [(_group_of(r, by) or None, r.reason, int(r.n)) for r in session.execute(query).all() if r.n]


def funnel_counts(session: Session, scope: Scope, by: str | None = None) -> list[tuple[str | None, str, str, int]]:
    """(group, furthest step, reason, deliveries) for the deliveries created in the scope's days, from the funnel
    tally (storage.funnel keeps it) and, for those waiting to be sent, the delivery rows."""
    keys = (*_grouping(FunnelTally, by), FunnelTally.step, FunnelTally.reason)
    query = (
        sa.select(*keys, sa.func.sum(FunnelTally.deliveries).label("n"))
        .where(*_tally_conditions(FunnelTally, scope))
        .group_by(*keys)
    )
    counted = [(_group_of(r, by), r.step, r.reason, int(r.n)) for r in session.execute(query).all() if r.n]
    return counted + _waiting(session, scope, by)


def _waiting(session: Session, scope: Scope, by: str | None) -> list[tuple[str | None, str, str, int]]:
    """The deliveries waiting to be sent, which the tally leaves out: few at any time, all read through the
    (status, due_at) index (the query names no other indexed column, so no planner prefers another index) and
    filtered and grouped here."""
    answered = sa.exists().where(Response.delivery_id == Delivery.id)
    query = sa.select(Delivery.flow_key, Delivery.channel, Delivery.created_at, Delivery.sent_at, Delivery.is_test,
                      answered).where(Delivery.status.in_(WAITING))
    first = None if scope.first_day is None else datetime.combine(scope.first_day, time(0), tzinfo=UTC)
    end = None if scope.end_day is None else datetime.combine(scope.end_day, time(0), tzinfo=UTC)
    counts: Counter[str | None] = Counter()
    for flow, channel, created_at, sent_at, is_test, has_answer in session.execute(query).all():
        if (sent_at is not None or is_test or has_answer or (scope.flow and flow != scope.flow)
                or (scope.channel and channel != scope.channel) or (first and created_at < first)
                or (end and created_at >= end)):
            continue
        counts[None if by is None else f"{flow}{PAIR}{channel}" if by == "flow+channel" else
               flow if by == "flow" else channel] += 1
    return [(group, "eligible", "pending", n) for group, n in counts.items()]


# Exports.

@dataclass(frozen=True)
class ExportFilters:
    """The dashboard's filters as the exports read them; `queue` narrows the cases only (an answer has no queue)."""

    flow: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    queue: str | None = None


RESPONSE_COLUMNS = ("id", "answered_at", "flow", "channel", "contact", "question", "score", "band", "comment",
                    "sentiment", "polarity", "themes", "event_type", "event_properties")
CASE_COLUMNS = ("id", "queue", "status", "priority", "assignee", "opened_at", "due_at", "resolved_at", "score",
                "band", "flow", "channel", "contact", "reason")


def _streamed(session: Session, query: Any) -> Iterator[tuple]:
    """Rows in batches from a server-side cursor (PostgreSQL) or the driver's own cursor (SQLite)."""
    result = session.connection().execution_options(yield_per=EXPORT_BATCH).execute(query)
    try:
        for partition in result.partitions():
            yield from partition
    finally:
        result.close()


def _window(at: Any, filters: ExportFilters) -> list[Any]:
    conditions = []
    if filters.since is not None:
        conditions.append(at >= filters.since)
    if filters.until is not None:
        conditions.append(at < filters.until)
    return conditions


def response_rows(session: Session, filters: ExportFilters) -> Iterator[tuple]:
    """Responses in RESPONSE_COLUMNS order, oldest first."""
    return _streamed(session, response_query(filters))


def response_query(filters: ExportFilters) -> Any:
    query = (
        sa.select(Response.id, Response.answered_at, Response.flow_key, Response.channel, Contact.external_id,
                  Response.question, Response.score, Response.band, Response.comment, Response.sentiment,
                  Response.polarity, Response.themes, Event.type,
                  # As the database stores it: decoding and re-encoding each row's JSON costs more than the query.
                  sa.cast(Event.properties, sa.Text))
        .join(Contact, Contact.id == Response.contact_id)
        .join(Delivery, Delivery.id == Response.delivery_id)
        .join(Event, Event.id == Delivery.event_id)
        .where(*_window(Response.answered_at, filters), Response.is_test == sa.false())
        .order_by(Response.id)
    )
    if filters.flow:
        query = query.where(Response.flow_key == filters.flow)
    if filters.channel:
        query = query.where(Response.channel == filters.channel)
    return query


def case_rows(session: Session, filters: ExportFilters) -> Iterator[tuple]:
    """Cases in CASE_COLUMNS order, oldest first; the window is on when they were opened."""
    return _streamed(session, case_query(filters))


def export_count(session: Session, query: Any) -> int:
    """How many rows an export query yields: the length of a progress bar."""
    return int(session.execute(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())).scalar_one())


def case_query(filters: ExportFilters) -> Any:
    query = (
        sa.select(FollowUp.id, Queue.key, FollowUp.status, FollowUp.priority, FollowUp.assignee, FollowUp.created_at,
                  FollowUp.due_at, FollowUp.resolved_at, Response.score, Response.band, Response.flow_key,
                  FollowUp.channel, Contact.external_id, FollowUp.reason)
        .join(Queue, Queue.id == FollowUp.queue_id)
        .join(Response, Response.id == FollowUp.response_id)
        .join(Contact, Contact.id == FollowUp.contact_id)
        .where(*_window(FollowUp.created_at, filters))
        .order_by(FollowUp.id)
    )
    if filters.flow:
        query = query.where(Response.flow_key == filters.flow)
    if filters.channel:
        query = query.where(FollowUp.channel == filters.channel)
    if filters.queue:
        query = query.where(Queue.key == filters.queue)
    return query

