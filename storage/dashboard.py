"""The dashboard's queries beyond the score series: sentiment per day (tallies), scores per segment, themes and
their scores, mismatches and example comments.

Sentiment, themes and segments read the daily tallies: flow and channel the response tallies, a contact attribute
or event property an admin picked its segment tallies (storage.segments). A key not picked, and the comment
lists, read the responses answered in the range through the response.answered_at index (never the whole table):
the range bounds what is read. "Did we fix it?" answers are
left out, as the tallies leave them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Session

from storage.models import (
    Contact,
    Delivery,
    Event,
    FollowUp,
    Response,
    ResponseTally,
    SegmentTally,
    ThemeTally,
)
from storage.types import UTCDateTime


@dataclass(frozen=True)
class Window:
    """Answers of [first_day, end_day), with [previous_day, first_day) as the period to compare with."""

    first_day: date
    end_day: date
    previous_day: date
    flow: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Stats:
    """Scored answers of one group in one period: enough for a proportion, a mean and their variances."""

    group: str
    current: bool  # in [first_day, end_day), else in the period before
    band: str
    n: int
    total: int
    squares: int


def _at(day: date) -> Any:
    return sa.bindparam(None, datetime.combine(day, time(0), tzinfo=UTC), type_=UTCDateTime)


def _answered(window: Window, question: str, since: date) -> list[Any]:
    conditions = [Response.answered_at >= _at(since), Response.answered_at < _at(window.end_day),
                  Response.recheck_of.is_(None), Response.is_test == sa.false(), Response.question == question,
                  Response.score.is_not(None)]
    if window.flow:
        conditions.append(Response.flow_key == window.flow)
    if window.channel:
        conditions.append(Response.channel == window.channel)
    return conditions


def daily_sentiments(session: Session, window: Window) -> list[tuple[date, str, int]]:
    """(day, sentiment, answers) over [first_day, end_day); sentiment "" is an answer without a comment."""
    conditions = [ResponseTally.day >= window.first_day, ResponseTally.day < window.end_day]
    if window.flow:
        conditions.append(ResponseTally.flow_key == window.flow)
    if window.channel:
        conditions.append(ResponseTally.channel == window.channel)
    query = (sa.select(ResponseTally.day, ResponseTally.sentiment, sa.func.sum(ResponseTally.answers))
             .where(*conditions).group_by(ResponseTally.day, ResponseTally.sentiment))
    return [(day, sentiment, int(n)) for day, sentiment, n in session.execute(query).all() if n]


SEGMENT_SOURCES = ("contact", "event")


def segment_stats(session: Session, window: Window, question: str, source: str, key: str) -> list[Stats]:
    """Scored answers per value of a contact attribute or event property, in the window and the period before."""
    if source == "contact":
        value = Contact.__table__.c.attributes[key].as_string()
        joined = sa.select().select_from(Response).join(Contact, Contact.id == Response.contact_id)
    else:
        value = Event.__table__.c.properties[key].as_string()
        joined = (sa.select().select_from(Response).join(Delivery, Delivery.id == Response.delivery_id)
                  .join(Event, Event.id == Delivery.event_id))
    return _stats(session, joined, sa.func.coalesce(value, ""), window, question)


def tallied_stats(session: Session, window: Window, question: str, segment: str) -> list[Stats]:
    """As segment_stats, from the tallies: `flow` and `channel` from the response tallies, a picked contact
    attribute or event property (storage.segments) from its segment tallies."""
    t: Any = ResponseTally if segment in ("flow", "channel") else SegmentTally
    group = t.flow_key if segment == "flow" else t.channel if segment == "channel" else t.value
    return _tally_stats(session, t, group, window, question, (t.segment == segment,) if t is SegmentTally else ())


def _tally_stats(session: Session, t: Any, group: Any, window: Window, question: str,
                 where: tuple[Any, ...] = ()) -> list[Stats]:
    current = sa.case((t.day >= window.first_day, 1), else_=0)
    keys = (group.label("grp"), current.label("cur"), t.band)
    conditions = [t.day >= window.previous_day, t.day < window.end_day, t.question == question, t.scored != 0, *where]
    if window.flow:
        conditions.append(t.flow_key == window.flow)
    if window.channel:
        conditions.append(t.channel == window.channel)
    query = (sa.select(*keys, sa.func.sum(t.scored), sa.func.sum(t.score_sum), sa.func.sum(t.score_sq_sum))
             .where(*conditions).group_by(*keys))
    return [Stats(str(grp), bool(cur), band or "", int(n), int(s or 0), int(q or 0))
            for grp, cur, band, n, s, q in session.execute(query).all() if n]


def _stats(session: Session, joined: Any, group: Any, window: Window, question: str,
           where: tuple[Any, ...] = ()) -> list[Stats]:
    current = sa.case((Response.answered_at >= _at(window.first_day), 1), else_=0)
    keys = (group.label("grp"), current.label("cur"), Response.band)
    query = (joined.add_columns(*keys, sa.func.count(), sa.func.sum(Response.score),
                                sa.func.sum(Response.score * Response.score))
             .where(*_answered(window, question, window.previous_day), *where)
             .group_by(*keys))
    return [Stats(str(grp), bool(cur), band or "", int(n), int(s or 0), int(q or 0))
            for grp, cur, band, n, s, q in session.execute(query).all()]


def theme_stats(session: Session, window: Window, question: str) -> list[Stats]:
    """Scored answers per theme of their comment, in the window and the period before, from the theme tallies."""
    return _tally_stats(session, ThemeTally, ThemeTally.theme, window, question)


def theme_days(session: Session, window: Window, question: str, themes: list[str]) -> list[tuple[date, str, int]]:
    """(day, theme, scored answers) over [first_day, end_day) for the given themes, from the theme tallies: the
    trend of each theme the dashboard lists."""
    if not themes:
        return []
    t = ThemeTally
    conditions = [t.day >= window.first_day, t.day < window.end_day, t.question == question, t.scored != 0,
                  t.theme.in_(themes)]
    if window.flow:
        conditions.append(t.flow_key == window.flow)
    if window.channel:
        conditions.append(t.channel == window.channel)
    query = sa.select(t.day, t.theme, sa.func.sum(t.scored)).where(*conditions).group_by(t.day, t.theme)
    return [(day, theme, int(n)) for day, theme, n in session.execute(query).all() if n]


@dataclass(frozen=True)
class Comment:
    response_id: int
    answered_at: datetime
    flow: str
    channel: str
    score: int | None
    band: str | None
    comment: str
    sentiment: str | None
    themes: list[str]
    case_id: int | None
    contact_id: int | None = None


def _comments(session: Session, window: Window, where: list[Any], limit: int) -> list[Comment]:
    conditions = [Response.answered_at >= _at(window.first_day), Response.answered_at < _at(window.end_day),
                  Response.recheck_of.is_(None), Response.is_test == sa.false(), Response.comment.is_not(None),
                  *where]
    if window.flow:
        conditions.append(Response.flow_key == window.flow)
    if window.channel:
        conditions.append(Response.channel == window.channel)
    query = (
        sa.select(Response.id, Response.answered_at, Response.flow_key, Response.channel, Response.score,
                  Response.band, Response.comment, Response.sentiment, Response.themes, FollowUp.id,
                  Response.contact_id)
        .outerjoin(FollowUp, FollowUp.response_id == Response.id)
        .where(*conditions)
        .order_by(Response.answered_at.desc(), Response.id.desc())
        .limit(limit)
    )
    return [Comment(*row[:8], list(row[8] or []), row[9], row[10]) for row in session.execute(query).all()]


def mismatches(session: Session, window: Window, limit: int = 20) -> list[Comment]:
    """The latest answers whose comment says the opposite of their score (angry promoters, happy detractors)."""
    return _comments(session, window, [Response.mismatch.is_(True)], limit)


def theme_examples(session: Session, window: Window, theme: str, limit: int = 2) -> list[Comment]:
    """The latest comments tagged with `theme`."""
    themes = Response.__table__.c.themes
    if session.connection().dialect.name == "postgresql":
        has = sa.type_coerce(themes, JSONB).contains([theme])
    else:
        each = sa.func.json_each(themes).table_valued("value")
        has = sa.exists(sa.select(1).select_from(each).where(each.c.value == theme))
    return _comments(session, window, [has], limit)
