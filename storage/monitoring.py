"""What the /metrics scrape asks the database: small queries, each bounded by the work in flight, not by history.

Every one reads through the (status, due_at) index of `delivery` or the open cases, so a scrape costs about the
same on a year-old database as on a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from storage.models import OPEN_STATUSES, Delivery, DeliveryStatus, FollowUp, FollowUpStatus, Queue

# Statuses a delivery still moves on from; the others are final and only grow with history.
IN_FLIGHT = (DeliveryStatus.SCHEDULED, DeliveryStatus.CLAIMED, *OPEN_STATUSES)
ALL_STATUSES = tuple(DeliveryStatus)

_DELIVERY = Delivery.__table__  # type: ignore[attr-defined]
_CASES = FollowUp.__table__  # type: ignore[attr-defined]
_QUEUES = Queue.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Backlog:
    """Deliveries due and not yet taken by a worker, per channel."""

    channel: str
    due: int
    oldest_due_at: datetime


@dataclass(frozen=True)
class QueueCases:
    queue: str
    open: int
    overdue: int


def delivery_counts(conn: sa.Connection, statuses: tuple[str, ...], due_since: datetime | None = None
                    ) -> dict[tuple[str, str], int]:
    """(status, channel) -> deliveries, for these statuses; only those due since `due_since` when given."""
    query = (sa.select(_DELIVERY.c.status, _DELIVERY.c.channel, sa.func.count())
             .where(_DELIVERY.c.status.in_([str(s) for s in statuses]))
             .group_by(_DELIVERY.c.status, _DELIVERY.c.channel))
    if due_since is not None:
        query = query.where(_DELIVERY.c.due_at >= due_since)
    return {(status, channel): count for status, channel, count in conn.execute(query)}


def due_backlog(conn: sa.Connection, now: datetime) -> list[Backlog]:
    query = (sa.select(_DELIVERY.c.channel, sa.func.count(), sa.func.min(_DELIVERY.c.due_at))
             .where(_DELIVERY.c.status == DeliveryStatus.SCHEDULED.value, _DELIVERY.c.due_at <= now)
             .group_by(_DELIVERY.c.channel))
    return [Backlog(channel, count, oldest) for channel, count, oldest in conn.execute(query)]


def open_cases(conn: sa.Connection, now: datetime) -> list[QueueCases]:
    """Every queue, with its cases not yet resolved and those of them past their due time."""
    unresolved = _CASES.c.status != FollowUpStatus.RESOLVED.value
    overdue = sa.func.coalesce(sa.func.sum(sa.case((_CASES.c.due_at < now, 1), else_=0)), 0)
    query = (sa.select(_QUEUES.c.key, sa.func.count(_CASES.c.id), overdue)
             .select_from(_QUEUES.outerjoin(_CASES, sa.and_(_CASES.c.queue_id == _QUEUES.c.id, unresolved)))
             .group_by(_QUEUES.c.key).order_by(_QUEUES.c.key))
    return [QueueCases(key, count, int(late)) for key, count, late in conn.execute(query)]

