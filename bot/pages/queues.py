"""/app/queues: every queue's open, due-soon and overdue cases, and how it closed the loop over the last 30 days.
A figure with nothing behind it reads "too few", never 0 or 100%."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template

from bot.pages.cases import DUE_SOON
from bot.queue_report import PERIOD, queue_reports
from bot.runtime import runtime
from storage.types import utcnow

TOO_FEW = "too few"


def duration(seconds: float | None) -> str:
    """A wait as people say it: "under a minute", "25 min", "3 h 10 min", "2.5 days"."""
    if seconds is None:
        return TOO_FEW
    seconds = round(seconds)  # SQLite's day fractions leave 5400 s as 5399.99...
    if seconds < 60:
        return "under a minute"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{seconds / 86400:.1f} days"


def share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else TOO_FEW


def queues() -> tuple[str, int]:
    with runtime().session() as session:
        reports = queue_reports(session, utcnow(), DUE_SOON)
    return render_template("app/queues.html", reports=reports, duration=duration, share=share,
                           sla=lambda minutes: duration(minutes * 60.0), period_days=PERIOD.days,
                           due_soon_hours=int(DUE_SOON / timedelta(hours=1))), 200


def queues_blueprint() -> Blueprint:
    bp = Blueprint("queues", __name__, url_prefix="/app/queues")
    bp.add_url_rule("", "queues", queues, methods=["GET"])
    return bp
