"""Metric aggregates computed by the database, in two queries whatever the number of responses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from storage.models import Delivery, Response


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


def _count_where(*conditions: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*conditions), 1), else_=0)), 0)


def metric_totals(session: Session, filters: Filters) -> Totals:
    sent_query = select(sa.func.count()).select_from(Delivery).where(Delivery.sent_at.is_not(None))
    if filters.flow:
        sent_query = sent_query.where(Delivery.flow_key == filters.flow)
    if filters.channel:
        sent_query = sent_query.where(Delivery.channel == filters.channel)
    if filters.since:
        sent_query = sent_query.where(Delivery.sent_at >= filters.since)
    if filters.until:
        sent_query = sent_query.where(Delivery.sent_at < filters.until)
    sent = session.exec(sent_query).one()

    scored = Response.score.is_not(None)
    question, band, sentiment = Response.question, Response.band, Response.sentiment
    query = select(
        _count_where(scored),
        _count_where(scored, question == "nps"),
        _count_where(question == "nps", band == "promoter"),
        _count_where(question == "nps", band == "detractor"),
        _count_where(scored, question == "csat"),
        _count_where(question == "csat", band == "promoter"),
        sa.func.avg(sa.case((question == "ces", Response.score), else_=None)),
        _count_where(sentiment == "positive"),
        _count_where(sentiment == "neutral"),
        _count_where(sentiment == "negative"),
    )
    if filters.flow:
        query = query.where(Response.flow_key == filters.flow)
    if filters.channel:
        query = query.where(Response.channel == filters.channel)
    if filters.since:
        query = query.where(Response.answered_at >= filters.since)
    if filters.until:
        query = query.where(Response.answered_at < filters.until)
    row = session.exec(query).one()
    counts = [int(value or 0) for value in row[:6]]
    ces = float(row[6]) if row[6] is not None else None
    return Totals(sent, *counts, ces, int(row[7] or 0), int(row[8] or 0), int(row[9] or 0))
