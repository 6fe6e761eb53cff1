"""GET /api/v1/insights/series, /insights/funnel and /insights/themes (JSON), the tallied segments,
/exports/responses.csv and /exports/cases.csv."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from flask import Blueprint, Response, jsonify, stream_with_context
from pydantic import BaseModel, BeforeValidator, WithJsonSchema

from bot import dashboard, insights
from bot.api.actor import api_actor
from bot.api.errors import not_found
from bot.api.params import known_flow
from bot.api.schemas import MetricsQuery, Query, Text
from bot.http_json import invalid_parameter, query
from bot.inputs import one_of
from bot.runtime import runtime
from channels.registry import CHANNEL_NAMES
from flows.intervals import MIN_ANSWERS, Change, Estimate
from storage.followups import queue_by_key
from storage.insights import ExportFilters

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(value: Any) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DAY.match(value):
        raise ValueError("not a date (YYYY-MM-DD)")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError("not a date (YYYY-MM-DD)") from None
    if not 1970 <= day.year < 3000:
        raise ValueError("must be from 1970-01-01 to 2999-12-31")
    return day


Day = Annotated[date, BeforeValidator(parse_day), WithJsonSchema({"type": "string", "format": "date"})]
Channel = one_of(*CHANNEL_NAMES)


class RangeQuery(Query):
    """Whole UTC days: `since` included, `until` excluded."""

    flow: Text | None = None
    channel: Channel | None = None  # type: ignore[valid-type]
    since: Day | None = None
    until: Day | None = None


class InsightsQuery(RangeQuery):
    by: one_of(*insights.GROUPINGS) | None = None  # type: ignore[valid-type]


class SeriesQuery(InsightsQuery):
    metric: one_of(*insights.METRICS) = "nps"  # type: ignore[valid-type]
    bucket: one_of(*insights.BUCKETS) = "week"  # type: ignore[valid-type]


class ThemesQuery(RangeQuery):
    """Without `since`, the last 12 buckets up to `until` (default: today, included), as for the series."""

    metric: one_of(*insights.METRICS) = "nps"  # type: ignore[valid-type]
    bucket: one_of(*insights.BUCKETS) = "week"  # type: ignore[valid-type]


class EstimateOut(BaseModel):
    """`value`, `low` and `high` are null when `enough` is false: fewer than `min_answers` answers."""

    n: int
    enough: bool
    value: float | None
    low: float | None
    high: float | None


class PointOut(EstimateOut):
    start: date
    end: date  # excluded
    partial: bool


class ChangeOut(BaseModel):
    """The last bucket minus the one before, its 95% interval, and whether it is more than noise."""

    delta: float | None
    low: float | None
    high: float | None
    z: float | None
    significant: bool | None


class SeriesOut(BaseModel):
    group: str | None
    points: list[PointOut]
    change: ChangeOut


class SeriesPage(BaseModel):
    metric: str
    bucket: str
    since: date
    until: date
    min_answers: int
    series: list[SeriesOut]


class TrendPointOut(BaseModel):
    start: date  # the bucket's first day inside the range
    answers: int
    partial: bool  # the range cuts the bucket


class ExampleOut(BaseModel):
    response_id: int
    answered_at: datetime
    score: int | None
    comment: str
    case_id: int | None


class ThemeOut(BaseModel):
    """`impact`: the mean score of the answers with the theme minus that of the answers without it, with its 95%
    interval; `significant` when the interval leaves out 0."""

    theme: str
    answers: int
    previous_answers: int  # in the period of the same length just before
    with_theme: EstimateOut
    without_theme: EstimateOut
    impact: ChangeOut
    trend: list[TrendPointOut]
    examples: list[ExampleOut]


class ThemesPage(BaseModel):
    metric: str
    bucket: str
    since: date
    until: date
    themes: list[ThemeOut]  # the most frequent first


class StepOut(BaseModel):
    step: str
    count: int
    drop: int
    reasons: dict[str, int]


class FunnelOut(BaseModel):
    group: str | None
    steps: list[StepOut]


class FunnelPage(BaseModel):
    since: date | None
    until: date | None
    funnels: list[FunnelOut]


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def estimate_fields(estimate: Estimate, digits: int) -> dict[str, Any]:
    return {"n": estimate.n, "enough": estimate.enough, "value": _round(estimate.value, digits),
            "low": _round(estimate.low, digits), "high": _round(estimate.high, digits)}


def change_out(change: Change, digits: int) -> ChangeOut:
    return ChangeOut(delta=_round(change.delta, digits), low=_round(change.low, digits),
                     high=_round(change.high, digits), z=_round(change.z, 2), significant=change.significant)


def _checked_flow(flow: str | None) -> str | None:
    with runtime().session() as session:
        return known_flow(session, flow)


def get_series() -> Response:
    params = query(SeriesQuery)
    flow = _checked_flow(params.flow)
    try:
        report = insights.score_series(runtime(), params.metric, params.bucket, flow=flow, channel=params.channel,
                                       since=params.since, until=params.until, by=params.by)
    except insights.BadInsightQuery as exc:
        raise invalid_parameter(exc.field, exc.message) from None
    digits = 2 if params.metric == "ces" else 1
    body = SeriesPage(
        metric=params.metric, bucket=params.bucket, since=report.since, until=report.until, min_answers=MIN_ANSWERS,
        series=[SeriesOut(group=s.group, change=change_out(s.change, digits),
                          points=[PointOut(start=p.start, end=p.end, partial=p.partial,
                                           **estimate_fields(p.estimate, digits)) for p in s.points])
                for s in report.series],
    )
    return jsonify(body.model_dump(mode="json"))


def get_funnel() -> Response:
    params = query(InsightsQuery)
    flow = _checked_flow(params.flow)
    try:
        funnels = insights.funnel(runtime(), flow=flow, channel=params.channel, since=params.since,
                                  until=params.until, by=params.by)
    except insights.BadInsightQuery as exc:
        raise invalid_parameter(exc.field, exc.message) from None
    body = FunnelPage(since=params.since, until=params.until, funnels=[
        FunnelOut(group=f.group, steps=[StepOut(step=s.name, count=s.count, drop=s.drop, reasons=s.reasons)
                                        for s in f.steps])
        for f in funnels
    ])
    return jsonify(body.model_dump(mode="json"))


class SegmentList(BaseModel):
    """The contact attributes and event properties tallied for the dashboard, e.g. `contact.plan`; flow and
    channel always are."""

    segments: list[str]


def list_segments() -> Response:
    return jsonify(SegmentList(segments=dashboard.tallied_segments(runtime())).model_dump())


def put_segment(segment: str) -> tuple[Response, int]:
    """Tally a segment from now on (its stored answers are counted first): 201, or 200 when it already was."""
    try:
        added = dashboard.pick_segment(runtime(), segment, api_actor())
    except insights.BadInsightQuery as exc:
        raise invalid_parameter(exc.field, exc.message) from None
    return list_segments(), 201 if added else 200


def delete_segment(segment: str) -> tuple[str, int]:
    try:
        removed = dashboard.unpick_segment(runtime(), segment, api_actor())
    except insights.BadInsightQuery as exc:
        raise invalid_parameter(exc.field, exc.message) from None
    if not removed:
        raise not_found("tallied segment", segment)
    return "", 204


def get_themes() -> Response:
    params = query(ThemesQuery)
    flow = _checked_flow(params.flow)
    try:
        since, until = insights.date_range(params.since, params.until, params.bucket, datetime.now(UTC).date())
    except insights.BadInsightQuery as exc:
        raise invalid_parameter(exc.field, exc.message) from None
    if (until - since).days > dashboard.MAX_DAYS:
        raise invalid_parameter("since", "the range is longer than three years: pick a shorter one")
    rows = dashboard.themes(runtime(), dashboard.Filters(since, until, params.metric, params.bucket, flow,
                                                        params.channel))
    body = ThemesPage(metric=params.metric, bucket=params.bucket, since=since, until=until, themes=[
        ThemeOut(theme=row.theme, answers=row.volume, previous_answers=row.previous_volume,
                 with_theme=EstimateOut(**estimate_fields(row.with_theme, 2)),
                 without_theme=EstimateOut(**estimate_fields(row.without_theme, 2)),
                 impact=change_out(row.impact, 2),
                 trend=[TrendPointOut(start=p.start, answers=p.answers, partial=p.partial) for p in row.trend],
                 examples=[ExampleOut(response_id=c.response_id, answered_at=c.answered_at, score=c.score,
                                      comment=c.comment, case_id=c.case_id) for c in row.examples])
        for row in rows])
    return jsonify(body.model_dump(mode="json"))


class ExportQuery(MetricsQuery):
    """The filters of /metrics: `since` included, `until` excluded, times with a UTC offset."""


class CaseExportQuery(ExportQuery):
    """The filters of the responses' export, and the queue the cases are in (as on the dashboard)."""

    queue: Text | None = None


def _checked_queue(queue: str | None) -> str | None:
    if queue is None:
        return None
    with runtime().session() as session:
        if queue_by_key(session, queue) is None:
            raise invalid_parameter("queue", "no queue has this key")
    return queue


def _export(name: str, rows: Any, filters: ExportFilters) -> Response:
    response = Response(stream_with_context(rows(runtime(), filters)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def export_responses() -> Response:
    params = query(ExportQuery)
    filters = ExportFilters(_checked_flow(params.flow), params.channel, params.since, params.until)
    return _export("responses", insights.export_responses, filters)


def export_cases() -> Response:
    params = query(CaseExportQuery)
    filters = ExportFilters(_checked_flow(params.flow), params.channel, params.since, params.until,
                            _checked_queue(params.queue))
    return _export("cases", insights.export_cases, filters)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/insights/series", "insights_series", get_series, methods=["GET"])
    bp.add_url_rule("/insights/funnel", "insights_funnel", get_funnel, methods=["GET"])
    bp.add_url_rule("/insights/themes", "insights_themes", get_themes, methods=["GET"])
    bp.add_url_rule("/insights/segments", "list_segments", list_segments, methods=["GET"])
    bp.add_url_rule("/insights/segments/<segment>", "put_segment", put_segment, methods=["PUT"])
    bp.add_url_rule("/insights/segments/<segment>", "delete_segment", delete_segment, methods=["DELETE"])
    bp.add_url_rule("/exports/responses.csv", "export_responses", export_responses, methods=["GET"])
    bp.add_url_rule("/exports/cases.csv", "export_cases", export_cases, methods=["GET"])
