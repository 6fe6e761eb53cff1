"""Insights: what a dashboard shows, as plain data. Score series with their intervals, the survey funnel and
the CSV exports; each surface (API, CLI, the dashboard page) turns them into its own form.

Series and funnels cover whole UTC days, [since, until): the tallies they read are kept per UTC day.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from bot.errors import ServiceError
from bot.estimates import Counts, change, estimate
from bot.runtime import Runtime
from flows.intervals import Change, Estimate
from storage.db import read_session
from storage.insights import (
    CASE_COLUMNS,
    PAIR,
    RESPONSE_COLUMNS,
    ExportFilters,
    Scope,
    case_query,
    case_rows,
    daily_scores,
    export_count,
    funnel_counts,
    response_query,
    response_rows,
    skip_counts,
)

Metric = Literal["nps", "csat", "ces"]
Bucket = Literal["day", "week", "month"]
By = Literal["flow", "channel"]
METRICS: tuple[str, ...] = ("nps", "csat", "ces")
BUCKETS: tuple[str, ...] = ("day", "week", "month")
GROUPINGS: tuple[str, ...] = ("flow", "channel")
DEFAULT_POINTS = 12  # buckets shown when no `since` is given
MAX_POINTS = 400  # more than a year of days: beyond that, ask for weeks or months


class BadInsightQuery(ServiceError):
    """An input the insights cannot answer (an unknown metric, a range they cannot cover): `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# Time series.

def bucket_start(day: date, bucket: str) -> date:
    """Days stand alone; weeks start on Monday (ISO); months on the 1st."""
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def next_bucket(start: date, bucket: str) -> date:
    if bucket == "week":
        return start + timedelta(days=7)
    if bucket == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


@dataclass(frozen=True)
class Point:
    """One bucket. `start`/`end` ([start, end)) are the bucket's days inside the range; `partial` when the
    range cuts the bucket (the current week, a month started mid-way)."""

    start: date
    end: date
    partial: bool
    estimate: Estimate


@dataclass(frozen=True)
class Series:
    group: str | None  # the flow or channel key when grouped
    points: list[Point]
    change: Change  # the last bucket against the one before


@dataclass(frozen=True)
class SeriesReport:
    metric: str
    bucket: str
    since: date
    until: date  # excluded
    series: list[Series]


def _check_choice(field: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise BadInsightQuery(field, f"must be one of {', '.join(choices)}")


def date_range(since: date | None, until: date | None, bucket: str, today: date) -> tuple[date, date]:
    """[since, end): `until` or tomorrow, and without `since` the last DEFAULT_POINTS buckets up to it."""
    end = until or today + timedelta(days=1)
    if since is None:
        since = bucket_start(end - timedelta(days=1), bucket)
        for _ in range(DEFAULT_POINTS - 1):
            since = bucket_start(since - timedelta(days=1), bucket)
    if since >= end:
        raise BadInsightQuery("until", "must be after since")
    return since, end


def _buckets(since: date, end: date, bucket: str) -> list[tuple[date, date, date]]:
    """(bucket start, first day in range, end day in range) for each bucket meeting [since, end)."""
    buckets, start = [], bucket_start(since, bucket)
    while start < end:
        following = next_bucket(start, bucket)
        buckets.append((start, max(start, since), min(following, end)))
        if len(buckets) > MAX_POINTS:
            raise BadInsightQuery("bucket", f"more than {MAX_POINTS} {bucket}s in the range: use a longer bucket")
        start = following
    return buckets


def score_series(
    rt: Runtime,
    metric: str,
    bucket: str = "week",
    *,
    flow: str | None = None,
    channel: str | None = None,
    since: date | None = None,
    until: date | None = None,
    by: str | None = None,
    today: date | None = None,
) -> SeriesReport:
    """NPS, CSAT or CES per bucket of [since, until), from the daily tallies; one series, or one per flow or
    channel (`by`) that has answers in the range. Without `since`, the last DEFAULT_POINTS buckets up to
    `until` (default: today, included)."""
    _check_choice("metric", metric, METRICS)
    _check_choice("bucket", bucket, BUCKETS)
    _check_choice("by", by, GROUPINGS)
    since, end = date_range(since, until, bucket, today or datetime.now(UTC).date())
    buckets = _buckets(since, end, bucket)
    with read_session(rt.engine) as session:
        rows = daily_scores(session, Scope(flow, channel, since, end), by)
    counts: dict[str | None, dict[date, Counts]] = defaultdict(lambda: defaultdict(Counts))
    for row in rows:
        if row.question == metric:
            counts[row.group][bucket_start(row.day, bucket)].add(row)
    groups = sorted(counts, key=lambda g: g or "") if by else [None]
    result = []
    for group in groups:
        per_bucket = counts[group]
        points = [Point(first, stop, first != start or stop != next_bucket(start, bucket),
                        estimate(metric, per_bucket.get(start, Counts())))
                  for start, first, stop in buckets]
        starts = [start for start, _, _ in buckets]
        last = (change(metric, per_bucket.get(starts[-1], Counts()), per_bucket.get(starts[-2], Counts()))
                if len(starts) > 1 else Change(None, None, None, None, None))
        result.append(Series(group, points, last))
    return SeriesReport(metric, bucket, since, end, result)


@dataclass(frozen=True)
class Summary:
    """One metric over [since, until) and over the period of the same length just before, with the change."""

    since: date
    until: date
    current: Estimate
    previous: Estimate
    change: Change


def score_summary(
    rt: Runtime,
    metric: str,
    since: date,
    until: date,
    *,
    flow: str | None = None,
    channel: str | None = None,
) -> Summary:
    """The headline figure of a dashboard: the metric over the range, against the range just before it (28
    days against the 28 before)."""
    _check_choice("metric", metric, METRICS)
    if since >= until:
        raise BadInsightQuery("until", "must be after since")
    before = since - (until - since)
    with read_session(rt.engine) as session:
        rows = daily_scores(session, Scope(flow, channel, before, until))
    current, previous = Counts(), Counts()
    for row in rows:
        if row.question == metric:
            (current if row.day >= since else previous).add(row)
    return Summary(since, until, estimate(metric, current), estimate(metric, previous),
                   change(metric, current, previous))


# Funnel.

STEPS = ("matched", "eligible", "sent", "delivered", "answered", "commented")


@dataclass(frozen=True)
class Step:
    """How many got this far, how many fewer than the step before, and why, where the reason is known."""

    name: str
    count: int
    drop: int
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Funnel:
    group: str | None
    steps: list[Step]


def _funnel(rows: Iterable[tuple[str, str, int]]) -> list[Step]:
    """The steps from (furthest step, reason, n) rows: skips at ingest reached `matched` only; a delivery counts
    at every step up to its own, and its reason at the step after."""
    counts = dict.fromkeys(STEPS, 0)
    reasons: dict[str, dict[str, int]] = {step: defaultdict(int) for step in STEPS}
    for step, reason, n in rows:
        reached = STEPS.index(step)
        for name in STEPS[:reached + 1]:
            counts[name] += n
        if reason and reached + 1 < len(STEPS):
            reasons[STEPS[reached + 1]][reason] += n
    steps, previous = [], None
    for name in STEPS:
        steps.append(Step(name, counts[name], 0 if previous is None else previous - counts[name],
                          dict(sorted(reasons[name].items()))))
        previous = counts[name]
    return steps


def _funnel_rows(session: Any, scope: Scope, by: str | None, channel: str | None
                 ) -> list[tuple[str | None, str, str, int]]:
    skips = [] if channel else [(group, "matched", reason, n) for group, reason, n in skip_counts(session, scope, by)]
    return skips + funnel_counts(session, scope, by)


def funnel(
    rt: Runtime,
    *,
    flow: str | None = None,
    channel: str | None = None,
    since: date | None = None,
    until: date | None = None,
    by: str | None = None,
) -> list[Funnel]:
    """Events matched -> eligible (a delivery made) -> sent -> delivered -> answered -> commented, for the
    events and deliveries of [since, until), with the reasons for each drop that the data keeps. Skips at
    ingest have no channel yet: with `channel` they are left out, and `by="channel"` lists them under None."""
    _check_choice("by", by, GROUPINGS)
    if since is not None and until is not None and since >= until:
        raise BadInsightQuery("until", "must be after since")
    scope = Scope(flow, channel, since, until)
    with read_session(rt.engine) as session:
        rows = _funnel_rows(session, scope, by, channel)
    groups: dict[str | None, list[tuple[str, str, int]]] = defaultdict(list)
    for group, step, reason, n in rows:
        groups[group].append((step, reason, n))
    if not by:
        groups.setdefault(None, [])
    return [Funnel(group, _funnel(groups[group])) for group in sorted(groups, key=lambda g: (g is None, g or ""))]


@dataclass(frozen=True)
class FunnelViews:
    total: Funnel
    by_channel: list[Funnel]
    by_flow: list[Funnel]


def funnel_views(
    rt: Runtime,
    *,
    flow: str | None = None,
    channel: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> FunnelViews:
    """The funnel whole, per channel and per flow, from one grouped read of the tallies instead of three; the
    same figures as `funnel` with and without `by`."""
    if since is not None and until is not None and since >= until:
        raise BadInsightQuery("until", "must be after since")
    scope = Scope(flow, channel, since, until)
    with read_session(rt.engine) as session:
        skips = [] if channel else skip_counts(session, scope, "flow")
        counted = funnel_counts(session, scope, "flow+channel")
    views = []
    for part in (0, 1):  # flow, channel
        groups: dict[str | None, list[tuple[str, str, int]]] = defaultdict(list)
        for group, reason, n in skips:
            groups[group if part == 0 else None].append(("matched", reason, n))
        for group, step, reason, n in counted:
            groups[(group or "").split(PAIR)[part]].append((step, reason, n))
        views.append([Funnel(g, _funnel(groups[g])) for g in sorted(groups, key=lambda g: (g is None, g or ""))])
    return FunnelViews(funnel_total(views[1]), views[1], views[0])


def funnel_total(groups: list[Funnel]) -> Funnel:
    """The funnel of all the groups together (one grouped query fewer than asking again without `by`)."""
    steps = []
    for i, name in enumerate(STEPS):
        reasons: dict[str, int] = defaultdict(int)
        for group in groups:
            for reason, n in group.steps[i].reasons.items():
                reasons[reason] += n
        steps.append(Step(name, sum(g.steps[i].count for g in groups), sum(g.steps[i].drop for g in groups),
                          dict(sorted(reasons.items()))))
    return Funnel(None, steps)


# Exports.

# Spreadsheets run a cell starting with one of these as a formula (CSV injection); a leading quote makes
# them show it as text. Tab and carriage return are on OWASP's list too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading `'`; numbers stay numbers."""
    return _text(value) if isinstance(value, str) else value


def _text(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _number(value: float | None) -> Any:
    return "" if value is None else value


def _time(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _joined(value: list | None) -> str:
    return _text(";".join(str(item) for item in value or ()))


# One converter per column, picked once: the export spends its time here, not in the database.
RESPONSE_CELLS = (_number, _time, _text, _text, _text, _text, _number, _text, _text, _text, _number, _joined,
                  _text, _text)
CASE_CELLS = (_number, _text, _text, _text, _text, _time, _time, _time, _number, _text, _text, _text, _text, _text)


CHUNK_ROWS = 500


def _csv(header: tuple[str, ...], cells: tuple[Any, ...], rows: Iterator[tuple],
         written: Callable[[int], None] | None) -> Iterator[str]:
    """CSV text in pieces of a few hundred rows: the memory a download takes does not grow with its size."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    i = 0
    for i, row in enumerate(rows, 1):
        writer.writerow([convert(value) for convert, value in zip(cells, row, strict=True)])
        if i % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if written:
                written(CHUNK_ROWS)
    yield buffer.getvalue()
    if written and i % CHUNK_ROWS:
        written(i % CHUNK_ROWS)


def export_responses(rt: Runtime, filters: ExportFilters,
                     written: Callable[[int], None] | None = None) -> Iterator[str]:
    """The responses answered in the window as CSV (RESPONSE_COLUMNS), oldest first, streamed; `written` hears
    how many rows each piece held (a progress bar)."""
    with read_session(rt.engine) as session:
        yield from _csv(RESPONSE_COLUMNS, RESPONSE_CELLS, response_rows(session, filters), written)


def export_cases(rt: Runtime, filters: ExportFilters, written: Callable[[int], None] | None = None) -> Iterator[str]:
    """The cases opened in the window as CSV (CASE_COLUMNS), oldest first, streamed."""
    with read_session(rt.engine) as session:
        yield from _csv(CASE_COLUMNS, CASE_CELLS, case_rows(session, filters), written)


def export_size(rt: Runtime, kind: str, filters: ExportFilters) -> int:
    """How many rows export_responses ("responses") or export_cases ("cases") would write."""
    with read_session(rt.engine) as session:
        return export_count(session, response_query(filters) if kind == "responses" else case_query(filters))
