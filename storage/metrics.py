"""Metric aggregates computed by the database, whatever the number of responses.

Whole UTC days come from the daily tallies (storage.tallies); the partial days at the edges of a
`since`/`until` range are aggregated from the rows themselves, through the answered_at and sent_at
indexes. Either way the database returns a few dozen grouped rows, which are added up here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from storage.models import Delivery, Response, ResponseTally, SentTally


@dataclass(frozen=True)
class Filters:
    flow: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Totals:
    sent: int
    responses: int
    nps_n: int
    nps_promoters: int
    nps_detractors: int
    csat_n: int
    csat_satisfied: int
    ces_mean: float | None
    positive: int
    neutral: int
    negative: int


GroupRow = tuple[str, str | None, str | None, int, int, int | None]


def metric_totals(session: Session, filters: Filters) -> Totals:
    first_day, end_day, edges = _split(filters.since, filters.until)
    sent, rows = 0, []
    if first_day is None or end_day is None or first_day < end_day:
        sent += _tallied_sent(session, filters, first_day, end_day)
        rows += _tallied_groups(session, filters, first_day, end_day)
    for since, until in edges:
        edge = replace(filters, since=since, until=until)
        sent += _counted_sent(session, edge)
        rows += _counted_groups(session, edge)
    return _fold(sent, rows)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _split(since: datetime | None, until: datetime | None) -> tuple[date | None, date | None, list[tuple]]:
    """Whole days [first_day, end_day) for the tallies, and the partial-day edges around them."""
    since = since.astimezone(UTC) if since else None
    until = until.astimezone(UTC) if until else None
    first_day = None if since is None else (since + timedelta(days=1) - timedelta.resolution).date()
    end_day = None if until is None else until.date()
    if first_day is not None and end_day is not None and first_day >= end_day:
        return first_day, end_day, [(since, until)] if since < until else []
    edges = []
    if since is not None and first_day is not None and since < _midnight(first_day):
        edges.append((since, _midnight(first_day)))
    if until is not None and end_day is not None and _midnight(end_day) < until:
        edges.append((_midnight(end_day), until))
    return first_day, end_day, edges


def _tally_filters(model: type[ResponseTally] | type[SentTally], filters: Filters, first_day: date | None,
                   end_day: date | None) -> list[Any]:
    conditions: list[Any] = []
    if filters.flow:
        conditions.append(model.flow_key == filters.flow)
    if filters.channel:
        conditions.append(model.channel == filters.channel)
    if first_day is not None:
        conditions.append(model.day >= first_day)
    if end_day is not None:
        conditions.append(model.day < end_day)
    return conditions


def _tallied_sent(session: Session, filters: Filters, first_day: date | None, end_day: date | None) -> int:
    query = select(sa.func.coalesce(sa.func.sum(SentTally.sent), 0))
    return int(session.exec(query.where(*_tally_filters(SentTally, filters, first_day, end_day))).one())


def _tallied_groups(session: Session, filters: Filters, first_day: date | None, end_day: date | None
                    ) -> list[GroupRow]:
    groups = (ResponseTally.question, ResponseTally.band, ResponseTally.sentiment)
    query = select(*groups, sa.func.sum(ResponseTally.answers), sa.func.sum(ResponseTally.scored),
                   sa.func.sum(ResponseTally.score_sum))
    query = query.where(*_tally_filters(ResponseTally, filters, first_day, end_day)).group_by(*groups)
    return [tuple(row) for row in session.exec(query).all()]


def _row_filters(model: type[Delivery] | type[Response], at: Any, filters: Filters) -> list[Any]:
    conditions = [at >= filters.since, at < filters.until, model.recheck_of.is_(None),  # type: ignore[union-attr]
                  model.is_test == sa.false()]
    if filters.flow:
        conditions.append(model.flow_key == filters.flow)
    if filters.channel:
        conditions.append(model.channel == filters.channel)
    return conditions


def _counted_sent(session: Session, filters: Filters) -> int:
    query = select(sa.func.count()).select_from(Delivery)
    return int(session.exec(query.where(*_row_filters(Delivery, Delivery.sent_at, filters))).one())


def _counted_groups(session: Session, filters: Filters) -> list[GroupRow]:
    groups = (Response.question, Response.band, Response.sentiment)
    query = select(*groups, sa.func.count(), sa.func.count(Response.score), sa.func.sum(Response.score))
    query = query.where(*_row_filters(Response, Response.answered_at, filters)).group_by(*groups)
    return [tuple(row) for row in session.exec(query).all()]


def _fold(sent: int, rows: Iterable[GroupRow]) -> Totals:
    totals: Counter[str] = Counter()
    for question, band, sentiment, answers, scored, score_sum in rows:
        totals["responses"] += scored
        totals[f"{question}_n"] += scored
        totals[f"{question}_{band}"] += scored
        totals[f"{question}_sum"] += score_sum or 0
        totals[f"sentiment_{sentiment}"] += answers
    ces_n = totals["ces_n"]
    return Totals(
        sent=sent,
        responses=totals["responses"],
        nps_n=totals["nps_n"],
        nps_promoters=totals["nps_promoter"],
        nps_detractors=totals["nps_detractor"],
        csat_n=totals["csat_n"],
        csat_satisfied=totals["csat_promoter"],
        ces_mean=totals["ces_sum"] / ces_n if ces_n else None,
        positive=totals["sentiment_positive"],
        neutral=totals["sentiment_neutral"],
        negative=totals["sentiment_negative"],
    )
