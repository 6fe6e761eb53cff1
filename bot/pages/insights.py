"""/app/insights: how customers feel over time and why, with every figure's 95% interval, whether a change is
more than noise, the survey funnel, the comments' themes and how the loop was closed; CSV exports of the same.

The filters are a GET form (a dashboard view is a link one can share); a value the services refuse is shown on
the form and the rest of the page keeps its defaults, never an error page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, stream_with_context, url_for

from bot import dashboard, insights
from bot.pages.charts import ChartPoint, SparkPoint, score_chart, sparkline
from bot.pages.web import PageError, actor, admin_required, current_user
from bot.runtime import runtime
from channels.registry import CHANNEL_NAMES
from flows.intervals import MIN_ANSWERS
from storage.insights import ExportFilters

FIELDS = ("flow", "channel", "queue", "metric", "bucket", "from", "to", "segment")
METRIC_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}
SCALES = {"nps": (-100.0, 100.0, ""), "csat": (0.0, 100.0, "%"), "ces": (1.0, 7.0, "")}
BUCKET_NAMES = {"day": "Day", "week": "Week", "month": "Month"}
PERIOD_NAMES = {"day": "the last day", "week": "the last 7 days", "month": "the last 30 days"}


def _day(form: dict[str, str], name: str, label: str, errors: dict[str, str]) -> date | None:
    text = form[name]
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors[name] = f"{label} must be a date like 2026-03-31"
        return None
    if not 1970 <= day.year < 3000:
        errors[name] = f"{label} must be between 1970 and 2999"
        return None
    return day


def read_filters(today: date) -> tuple[dict[str, str], dashboard.Filters, dict[str, str]]:
    """The form as sent, the filters it asks for (defaults where a value is missing or wrong), and the errors."""
    form = {name: request.args.get(name, "").strip() for name in FIELDS}
    errors: dict[str, str] = {}
    if form["channel"] and form["channel"] not in CHANNEL_NAMES:
        errors["channel"] = f"Channel must be one of: {', '.join(CHANNEL_NAMES)}"
    if form["metric"] and form["metric"] not in insights.METRICS:
        errors["metric"] = "Metric must be NPS, CSAT or CES"
    if form["bucket"] and form["bucket"] not in insights.BUCKETS:
        errors["bucket"] = "Group by must be day, week or month"
    last = _day(form, "to", "To", errors) or today
    first = _day(form, "from", "From", errors) or last - timedelta(days=dashboard.DEFAULT_DAYS - 1)
    filters = dashboard.Filters(
        since=first, until=last + timedelta(days=1),
        metric=form["metric"] if "metric" not in errors and form["metric"] else "nps",
        bucket=form["bucket"] if "bucket" not in errors and form["bucket"] else "week",
        flow=form["flow"] or None,
        channel=form["channel"] if "channel" not in errors and form["channel"] else None,
        queue=form["queue"] or None,
        segment=form["segment"] or None,
    )
    try:
        dashboard.check_filters(filters)
    except insights.BadInsightQuery as exc:
        errors[exc.field] = f"{_label(exc.field)} {exc}"
        filters = dashboard.Filters(since=today - timedelta(days=dashboard.DEFAULT_DAYS - 1),
                                    until=today + timedelta(days=1))
    return form, filters, errors


def _label(field: str) -> str:
    return {"from": "From", "to": "To", "segment": "Segment", "queue": "Queue"}.get(field, field.capitalize())


def _chart(report: insights.SeriesReport, f: dashboard.Filters) -> Any:
    floor, ceiling, unit = SCALES[f.metric]
    points = [ChartPoint(p.start, p.estimate.value, p.estimate.low, p.estimate.high)
              for p in report.series[0].points]
    name = METRIC_NAMES[f.metric]
    shown = [p for p in points if p.value is not None]
    if shown:
        lowest = min(shown, key=lambda p: p.value or 0.0)
        highest = max(shown, key=lambda p: p.value or 0.0)
        summary = (f"{len(points)} {f.bucket}s from {f.since:%d %b %Y}; {len(shown)} with enough answers; "
                   f"lowest {lowest.value:.0f} in the {f.bucket} of {lowest.start:%d %b}, highest "
                   f"{highest.value:.0f} in the {f.bucket} of {highest.start:%d %b}. The table below has every "
                   f"figure.")
    else:
        summary = f"No {f.bucket} of the range has {MIN_ANSWERS} answers or more."
    return score_chart(points, title=f"{name} per {f.bucket}, with its 95% interval", description=summary,
                       floor=floor, ceiling=ceiling, unit=unit)


def _scores(f: dashboard.Filters) -> dict[str, Any]:
    rt = runtime()
    report = insights.score_series(rt, f.metric, f.bucket, flow=f.flow, channel=f.channel, since=f.since,
                                   until=f.until)
    return {"headlines": dashboard.headlines(rt, f), "series": report.series[0], "chart": _chart(report, f),
            "segments": dashboard.segments(rt, f), "tallied_segments": dashboard.tallied_segments(rt)}


def _funnel(f: dashboard.Filters) -> dict[str, Any]:
    rt = runtime()
    views = insights.funnel_views(rt, flow=f.flow, channel=f.channel, since=f.since, until=f.until)
    return {"funnel_total": views.total, "funnels_by": {"channel": views.by_channel, "flow": views.by_flow}}


def _comments(f: dashboard.Filters) -> dict[str, Any]:
    rt = runtime()
    theme_rows = dashboard.themes(rt, f)
    trends = {t.theme: sparkline([SparkPoint(p.start, p.answers, p.partial) for p in t.trend],
                                 label=f"{t.theme}: answers per {f.bucket}", unit="Answers") for t in theme_rows}
    return {"sentiment": dashboard.sentiment_series(rt, f), "themes_by_volume": theme_rows, "trends": trends,
            "themes_by_impact": dashboard.by_impact(theme_rows), "mismatches": dashboard.latest_mismatches(rt, f)}


def _loop(f: dashboard.Filters) -> dict[str, Any]:
    return {"loop": dashboard.closing_the_loop(runtime(), f).figures}


# Each view reads only what it shows: a view is one URL, so a slow part never holds up the others.
VIEWS: dict[str, tuple[str, Callable[[dashboard.Filters], dict[str, Any]]]] = {
    "scores": ("Scores", _scores),
    "funnel": ("Funnel", _funnel),
    "comments": ("Comments", _comments),
    "loop": ("Closing the loop", _loop),
}


def _export_query(f: dashboard.Filters) -> dict[str, str]:
    """The filters the responses' CSV honours; the cases' CSV also takes the queue."""
    query = {"from": f.since.isoformat(), "to": (f.until - timedelta(days=1)).isoformat()}
    query.update({name: value for name, value in (("flow", f.flow), ("channel", f.channel)) if value})
    return query


def _page(view: str) -> str:
    rt = runtime()
    today = datetime.now(UTC).date()
    form, filters, errors = read_filters(today)
    queues = dashboard.queue_keys(rt)
    if filters.queue and filters.queue not in queues:
        errors["queue"] = "Queue must be one of the queues listed"
        filters = replace(filters, queue=None)
    context = VIEWS[view][1](filters)
    query = {name: value for name, value in form.items() if value}
    return render_template(
        "app/insights.html", view=view, views=VIEWS, query=query, form=form, f=filters, errors=errors,
        metric_names=METRIC_NAMES,
        bucket_names=BUCKET_NAMES, period=PERIOD_NAMES[filters.bucket], channels=CHANNEL_NAMES,
        queues=queues, min_answers=MIN_ANSWERS, steps=insights.STEPS,
        # An answer's page is its customer's (admins only); an agent reaches an answer through its case.
        answer_links=bool((user := current_user()) and user.is_admin),
        last_day=filters.until - timedelta(days=1), export_query=_export_query(filters),
        case_export_query={**_export_query(filters), **({"queue": filters.queue} if filters.queue else {})},
        **context,
    )


def _csv(kind: str) -> Response:
    today = datetime.now(UTC).date()
    _form, f, errors = read_filters(today)
    if kind == "cases" and f.queue and f.queue not in dashboard.queue_keys(runtime()):
        errors["queue"] = "Queue must be one of the queues listed"
    if errors:
        return Response("; ".join(errors.values()) + "\n", status=400, mimetype="text/plain")
    window = ExportFilters(f.flow, f.channel, datetime.combine(f.since, time(0), tzinfo=UTC),
                           datetime.combine(f.until, time(0), tzinfo=UTC), f.queue if kind == "cases" else None)
    export = insights.export_responses if kind == "responses" else insights.export_cases
    rows = export(runtime(), window)
    name = f"touchpoint-{kind}-{f.since}-{f.until - timedelta(days=1)}.csv"
    return Response(stream_with_context(rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def scores_page() -> str:
    return _page("scores")


def view_page(view: str) -> str:
    if view not in VIEWS or view == "scores":
        raise PageError(404, "No such page", "Insights has the views Scores, Funnel, Comments and Closing the loop.")
    return _page(view)


def responses_csv() -> Response:
    return _csv("responses")


def cases_csv() -> Response:
    return _csv("cases")


@admin_required
def segment_tally() -> Response:
    """An admin keeps (or stops) a tally of a contact attribute or event property, so the dashboard reads it fast."""
    segment = request.form.get("segment", "").strip()
    try:
        if request.form.get("action") == "stop":
            done = dashboard.unpick_segment(runtime(), segment, actor())
            flash(f"{segment} is no longer tallied: the dashboard counts it from the answers." if done
                  else f"{segment} was not tallied.")
        else:
            done = dashboard.pick_segment(runtime(), segment, actor())
            flash(f"{segment} is tallied: its answers so far are counted, new ones as they come." if done
                  else f"{segment} was already tallied.")
    except insights.BadInsightQuery as exc:
        raise PageError(400, "Segment not tallied", f"Segment {exc}") from exc
    return redirect(url_for("insights.page", segment=segment), 303)


def insights_blueprint() -> Blueprint:
    bp = Blueprint("insights", __name__)
    bp.add_url_rule("/app/insights", "page", scores_page, methods=["GET"])
    bp.add_url_rule("/app/insights/<view>", "view", view_page, methods=["GET"])
    bp.add_url_rule("/app/insights/responses.csv", "responses_csv", responses_csv, methods=["GET"])
    bp.add_url_rule("/app/insights/cases.csv", "cases_csv", cases_csv, methods=["GET"])
    bp.add_url_rule("/app/insights/segments", "segment_tally", segment_tally, methods=["POST"])
    return bp
