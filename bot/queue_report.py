"""How each follow-up queue stands: its open, due-soon and overdue cases now, and how it closed the loop over a
recent period (the median times to a first reply and to resolution, the SLA kept and the recovery rate, each with
the counts behind it). The queue page reads this; the API's queue listing reads the same storage figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from storage.cases import QueueCounts, QueueFigures, QueueMedians, queue_counts, queue_figures, queue_medians
from storage.followups import list_queues

PERIOD = timedelta(days=30)
NO_COUNTS = QueueCounts(0, 0, 0)
NO_FIGURES = QueueFigures(0, 0, None, 0, None, 0, 0, 0, 0)
NO_MEDIANS = QueueMedians(None, None)


@dataclass(frozen=True)
class QueueReport:
    key: str
    name: str
    sla_minutes: int
    recheck_after_minutes: int | None
    counts: QueueCounts
    figures: QueueFigures
    medians: QueueMedians


def queue_reports(session: Session, now: datetime, due_soon: timedelta, period: timedelta = PERIOD
                  ) -> list[QueueReport]:
    """Every queue, with its counts at `now` and its figures for the cases opened in the `period` up to `now`."""
    since = now - period
    counts = queue_counts(session, now, due_soon)
    figures = queue_figures(session, since, now, now)
    medians = queue_medians(session, since, now)
    return [
        QueueReport(q.key, q.name or q.key, q.sla_minutes, q.recheck_after_minutes,
                    counts.get(q.id or 0, NO_COUNTS), figures.get(q.id or 0, NO_FIGURES),
                    medians.get(q.id or 0, NO_MEDIANS))
        for q in list_queues(session)
    ]
