"""Score alerts: when a flow's recent score falls below its own baseline by more than noise, say so once.

Every hour the worker compares each enabled flow's score over the last `alert_window_days` (today included)
with the `alert_baseline_days` before them, from the daily tallies, with the 95% interval of the difference
(flows.intervals). A drop fires when that interval lies entirely below zero and both periods have at least
`alert_min_answers` answers: a dip of the size of the interval is what noise does, and is not told. The
episode is stored (one open per flow and segment, whichever worker sees it first), the flow's queues' Slack
channels and the admins are told once, and it re-arms only once the window's score is back at or above its
baseline: a score hovering at the edge of significance does not alert every hour.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session

from bot.estimates import PERCENT, Counts, change, estimate
from bot.outbox import send_and_record
from bot.runtime import Runtime
from channels.base import ChannelError, Outbound
from channels.registry import card_poster
from flows.intervals import Change, Estimate
from storage.db import read_session
from storage.flow_versions import current_flows
from storage.insights import Scope, daily_scores
from storage.models import Flow, ScoreAlert
from storage.score_alerts import (
    admin_emails,
    alert_history,
    close_alert,
    open_alerts,
    segment_scores,
    set_notified,
    slack_channels_of,
    start_alert,
    top_themes,
)
from storage.types import utcnow

log = logging.getLogger("touchpoint.score_alerts")

LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "thumbs": "Thumbs-up share"}
MAX_SEGMENT = 100  # "contact.plan:gold": longer attribute values (free text, not a segment) are left out


@dataclass(frozen=True)
class Comparison:
    """A flow's (or segment's) window against its baseline."""

    flow: str
    flow_name: str
    segment: str  # "" for the whole flow, else "channel:sms", "contact.plan:gold", "event.region:north"
    metric: str
    window_start: date
    window_end: date  # excluded
    baseline_start: date
    window: Estimate
    baseline: Estimate
    change: Change
    queues: tuple[str, ...] = ()  # those the flow routes cases to: their Slack channels hear of the drop

    @property
    def key(self) -> str:
        return f"{self.flow}|{self.segment}"

    def dropped(self, min_answers: int) -> bool:
        """Enough answers on both sides, and the whole 95% interval of the change below zero."""
        enough = self.window.n >= min_answers and self.baseline.n >= min_answers
        return enough and self.change.high is not None and self.change.high < 0

    def recovered(self) -> bool:
        """The window's score is back at or above its baseline (which, weeks on, includes the drop itself)."""
        return self.change.delta is not None and self.change.delta >= 0


@dataclass
class AlertReport:
    fired: int = 0
    recovered: int = 0


def check_score_drops(rt: Runtime, today: date | None = None) -> AlertReport:
    """Fire the drops not yet told and re-arm the ones that recovered; returns how many of each."""
    report = AlertReport()
    if rt.settings.alerts == "off":
        return report
    today = today or utcnow().date()
    with read_session(rt.engine) as session:
        comparisons = [c for flow in current_flows(session) if flow.enabled for c in _compare(rt, session, flow, today)]
        firing = open_alerts(session)
    for comparison in comparisons:
        alert = firing.get(comparison.key)
        if alert is None and comparison.dropped(rt.settings.alert_min_answers):
            report.fired += _fire(rt, comparison)
        elif alert is not None and alert.id is not None and comparison.recovered():
            with rt.session() as session:
                close_alert(session, alert.id, utcnow())
            log.info("score alert %s recovered flow=%s", alert.id, comparison.flow)
            report.recovered += 1
    return report


def recent_alerts(rt: Runtime, limit: int = 20) -> list[ScoreAlert]:
    """The latest drop episodes, open or recovered, newest first."""
    with read_session(rt.engine) as session:
        return alert_history(session, limit)


def _metric(flow: Flow) -> str:
    return str((flow.definition.get("question") or {}).get("kind") or "nps")


def _compare(rt: Runtime, session: Session, flow: Flow, today: date) -> list[Comparison]:
    settings = rt.settings
    end = today + timedelta(days=1)
    window_start = end - timedelta(days=settings.alert_window_days)
    baseline_start = window_start - timedelta(days=settings.alert_baseline_days)
    metric = _metric(flow)
    queues = tuple(str(rule["queue"]) for rule in flow.definition.get("routing") or () if rule.get("queue"))
    rows = daily_scores(session, Scope(flow.key, None, baseline_start, end), "channel")
    sides: dict[str, tuple[Counts, Counts]] = defaultdict(lambda: (Counts(), Counts()))
    by_channel = "channel" in settings.alert_segment_list
    for row in rows:
        if row.question != metric:
            continue
        for segment in [""] + ([f"channel:{row.group}"] if by_channel else []):
            sides[segment][0 if row.day >= window_start else 1].add(row)
    for name in settings.alert_segment_list:
        if name == "channel":
            continue
        for value, in_window, band, n, total, squares in segment_scores(
                session, flow.key, metric, name, _midnight(baseline_start), _midnight(window_start), _midnight(end)):
            segment = f"{name}:{value}"
            if len(segment) <= MAX_SEGMENT:
                sides[segment][0 if in_window else 1].add_band(band, n, total, squares)
    return [Comparison(flow.key, flow.name or flow.key, segment, metric, window_start, end, baseline_start,
                       estimate(metric, window), estimate(metric, baseline), change(metric, window, baseline), queues)
            for segment, (window, baseline) in sorted(sides.items())]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _fire(rt: Runtime, c: Comparison) -> int:
    """Store the episode (0 when another worker just did) and tell whom the settings name."""
    name, _, value = c.segment.partition(":")
    with rt.session() as session:
        themes = top_themes(session, c.flow, _midnight(c.window_start), _midnight(c.window_end),
                            segment=(name, value) if name else None, unhappy=True)
        w, b, d = c.window, c.baseline, c.change
        alert_id = start_alert(session, {
            "open_key": c.key, "flow_key": c.flow, "segment": c.segment, "metric": c.metric,
            "window_start": c.window_start, "window_end": c.window_end, "baseline_start": c.baseline_start,
            "window_n": w.n, "window_value": w.value, "window_low": w.low, "window_high": w.high,
            "baseline_n": b.n, "baseline_value": b.value, "baseline_low": b.low, "baseline_high": b.high,
            "delta": d.delta, "delta_low": d.low, "delta_high": d.high, "themes": [list(t) for t in themes],
            "notified": "", "fired_at": utcnow(), "recovered_at": None,
        })
        slack_channels = slack_channels_of(session, c.queues)
        admins = admin_emails(session)
    if alert_id is None:
        return 0
    log.info("score alert %s fired flow=%s segment=%s", alert_id, c.flow, name or "-")  # not its value
    text = alert_text(rt, c, themes)
    told = [*_tell_slack(rt, slack_channels, text), *_tell_admins(rt, admins, c, text)]
    with rt.session() as session:
        set_notified(session, alert_id, ",".join(dict.fromkeys(told)))
    return 1


def _tell_slack(rt: Runtime, channels: list[str], text: str) -> list[str]:
    poster = card_poster(rt.channels, "slack")
    if rt.settings.alerts not in ("slack", "both") or poster is None:
        return []
    told = []
    for channel in channels:
        try:
            poster.post_notice(channel, slack_escape(text))
            told.append("slack")
        except ChannelError as error:
            log.warning("score alert not posted to a Slack channel: %s", error)
    return told


def _tell_admins(rt: Runtime, admins: list[str], c: Comparison, text: str) -> list[str]:
    if rt.settings.alerts not in ("email", "both") or "email" not in rt.channels:
        return []
    subject = f"{LABELS.get(c.metric, c.metric)} dropped: {c.flow_name}{_on(c.segment)}"
    told = []
    for address in admins:
        mail = Outbound(channel="email", to=address, text=text, kind="score_alert", subject=subject)
        if send_and_record(rt, mail, None).sent:
            told.append("email")
    return told


def slack_escape(text: str) -> str:
    """Slack reads <...> as links and mentions (<!channel>): names typed by people must not become either."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _on(segment: str) -> str:
    kind, _, value = segment.partition(":")
    return f", {kind} {value}" if value else ""


def figure(metric: str, value: float | None) -> str:
    if value is None:
        return "not enough answers"
    return f"{value:.1f}%" if metric in PERCENT else f"{value:.1f}"


def estimate_text(metric: str, e: Estimate) -> str:
    """"31.0 (95% interval 22.4 to 39.6, 120 answers)", or why there is no figure."""
    if e.value is None:
        return f"not enough answers ({e.n})"
    return (f"{figure(metric, e.value)} (95% interval {figure(metric, e.low)} to {figure(metric, e.high)}, "
            f"{e.n} answers)")


def _points(metric: str, value: float | None) -> str:
    unit = " points" if metric in PERCENT or metric == "nps" else ""
    return f"{value:+.1f}{unit}" if value is not None else "?"


def alert_text(rt: Runtime, c: Comparison, themes: list[tuple[str, int]]) -> str:
    label = LABELS.get(c.metric, c.metric)
    last_day = c.window_end - timedelta(days=1)
    lines = [
        f"{label} of {c.flow_name} ({c.flow}){_on(c.segment)} dropped significantly.",
        f"Last {(c.window_end - c.window_start).days} days ({c.window_start} to {last_day}): "
        + estimate_text(c.metric, c.window),
        f"The {(c.window_start - c.baseline_start).days} days before: " + estimate_text(c.metric, c.baseline),
        f"Change: {_points(c.metric, c.change.delta)} (95% interval {_points(c.metric, c.change.low)} to "
        f"{_points(c.metric, c.change.high)})",
        "Top themes among detractors and negative comments: "
        + (", ".join(f"{name} ({n})" for name, n in themes) if themes else "none tagged"),
        "",
        f"Dashboard: {rt.settings.public_url}/app/insights?flow={c.flow}",
    ]
    return "\n".join(lines)
