"""The insights digest: once a day or once a week, an email to the admins with each flow's score and interval,
volume, response and comment rates and top themes, and each queue's open and overdue cases.

It covers the UTC day or ISO week just ended (`TOUCHPOINT_INSIGHTS_DIGEST`), and is sent by the worker's hourly
insights job on its first run after the period ends. The period is claimed in the database before the mail
goes out, so several workers send it once; a crash between the claim and the send loses that digest rather
than sending it twice. It quotes no comment (it reaches staff outside any case, and could not be erased with
a customer); the dashboard holds the examples.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session

from bot.estimates import PERCENT, Counts, change, estimate
from bot.outbox import send_and_record
from bot.runtime import Runtime
from bot.score_alerts import LABELS, estimate_text
from channels.base import Outbound
from flows.intervals import Change, Estimate
from storage.cases import queue_counts
from storage.db import read_session
from storage.flow_versions import current_flows
from storage.followups import list_queues
from storage.insights import Scope, daily_scores
from storage.metrics import Filters, metric_totals
from storage.models import Flow
from storage.score_alerts import admin_emails, claim_digest, top_themes
from storage.types import utcnow

log = logging.getLogger("touchpoint.digest")


def period_of(mode: str, today: date) -> tuple[date, date]:
    """[start, end) of the day or the ISO week (Monday to Sunday) that ended last."""
    if mode == "daily":
        return today - timedelta(days=1), today
    end = today - timedelta(days=today.weekday())
    return end - timedelta(days=7), end


@dataclass(frozen=True)
class FlowDigest:
    key: str
    name: str
    metric: str
    score: Estimate
    change: Change  # against the period just before
    answers: int
    sent: int
    commented: int
    themes: list[tuple[str, int]]


@dataclass(frozen=True)
class QueueDigest:
    key: str
    name: str
    open: int
    overdue: int


def send_digest(rt: Runtime, today: date | None = None) -> int:
    """Send the digest of the period just ended if it is due and not sent yet; returns the admins mailed."""
    mode = rt.settings.insights_digest
    if mode == "off" or "email" not in rt.channels:
        return 0
    start, end = period_of(mode, today or utcnow().date())
    with read_session(rt.engine) as session:
        admins = admin_emails(session)
        if not admins:
            return 0
        flows = [flow_digest(session, flow, start, end) for flow in current_flows(session) if flow.enabled]
        queues = queue_digests(session, utcnow())
    with rt.session() as session:
        if not claim_digest(session, mode, start, len(admins), utcnow()):
            return 0
    text = digest_text(rt, mode, start, end, flows, queues)
    subject = f"Insights: {_period_name(mode, start, end)}"
    mailed = sum(send_and_record(rt, Outbound(channel="email", to=address, text=text, kind="digest",
                                              subject=subject), None).sent for address in admins)
    log.info("insights digest %s %s sent to %d of %d admins", mode, start, mailed, len(admins))
    return mailed


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def flow_digest(session: Session, flow: Flow, start: date, end: date) -> FlowDigest:
    metric = str((flow.definition.get("question") or {}).get("kind") or "nps")
    before = start - (end - start)
    current, previous = Counts(), Counts()
    for row in daily_scores(session, Scope(flow.key, None, before, end)):
        if row.question == metric:
            (current if row.day >= start else previous).add(row)
    since, until = _midnight(start), _midnight(end)
    totals = metric_totals(session, Filters(flow=flow.key, since=since, until=until))
    return FlowDigest(flow.key, flow.name or flow.key, metric, estimate(metric, current),
                      change(metric, current, previous), totals.responses, totals.sent,
                      totals.positive + totals.neutral + totals.negative, top_themes(session, flow.key, since, until))


def queue_digests(session: Session, now: datetime) -> list[QueueDigest]:
    counts = queue_counts(session, now, timedelta(0))
    found = []
    for queue in list_queues(session):
        c = counts.get(queue.id or 0)
        found.append(QueueDigest(queue.key, queue.name or queue.key, c.open if c else 0, c.overdue if c else 0))
    return found


def _period_name(mode: str, start: date, end: date) -> str:
    return str(start) if mode == "daily" else f"week of {start} to {end - timedelta(days=1)}"


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _change_text(metric: str, c: Change, mode: str) -> str:
    before = "the day before" if mode == "daily" else "the week before"
    if c.delta is None:
        return f"too few answers to compare with {before}"
    unit = " points" if metric in PERCENT or metric == "nps" else ""
    verdict = "significant" if c.significant else "not significant"
    return f"{c.delta:+.1f}{unit} from {before} ({verdict})"


def _flow_lines(f: FlowDigest, mode: str) -> list[str]:
    label = LABELS.get(f.metric, f.metric)
    if not f.answers and not f.sent:
        return [f"{f.name} ({f.key}): no surveys sent and no answers"]
    themes = ", ".join(f"{name} ({n})" for name, n in f.themes) or "none tagged"
    return [
        f"{f.name} ({f.key})",
        f"  {label}: {estimate_text(f.metric, f.score)}; {_change_text(f.metric, f.change, mode)}",
        f"  Answers: {f.answers} of {f.sent} sent (response rate {_share(f.answers, f.sent)}), "
        f"{f.commented} with a comment (comment rate {_share(f.commented, f.answers)})",
        f"  Top themes: {themes}",
    ]


def digest_text(rt: Runtime, mode: str, start: date, end: date, flows: list[FlowDigest],
                queues: list[QueueDigest]) -> str:
    lines = [f"Touchpoint insights, {_period_name(mode, start, end)} (UTC)", ""]
    for flow in flows:
        lines += [*_flow_lines(flow, mode), ""]
    if not flows:
        lines += ["No flow is enabled.", ""]
    lines.append("Cases now")
    lines += [f"  {q.name} ({q.key}): {q.open} open, {q.overdue} overdue" for q in queues] or ["  No queues."]
    lines += ["", f"Dashboard: {rt.settings.public_url}/app/insights"]
    return "\n".join(lines)
