"""The funnel tally: deliveries per day of their creation, flow and channel, by the furthest step they reached.

A delivery reaches `eligible` when it is made, then `sent`, `delivered` (sent and not failed or unknown, or
answered), `answered` (it has a response) and `commented` (the response has a comment); `reason` says why it
went no further (pending, opted_out, throttled, unreachable, failed, expired, ...). The funnel's counts are
sums over these rows, its reasons the rows' reasons: the dashboard reads a few hundred tally rows instead of
grouping the deliveries of its range.

A delivery's status moves many times and through several kinds of statement (the ORM, the answer path's
constant UPDATEs, the claims). Each writer notes the delivery it touched; just before commit the touched
deliveries' steps are read again from the rows (one statement) and compared with the step the delivery was
counted under, which the row keeps (`delivery.funnel_tally`): the tally moves by exactly the difference, in
the same transaction, so a rolled-back change never counts and no writer has to know the old state. The
claims and the provider-call marks move a delivery between scheduled, claimed and sending, all `pending` to
the funnel, so they note nothing. An admin's test send counts nowhere. The answer path, the busiest writer,
reads its delivery locked and knows where it goes (answered or commented): it settles the move itself and
writes `funnel_tally` with its own UPDATE, so its commit reads nothing again (`settle_answered`).

PENDING: a delivery waiting to be sent (scheduled, claimed or sending) is not in the tally: ingestion makes one
per event and would pay a tally write on its hot path for a state that lasts minutes. The few deliveries
waiting at any time are counted from the rows through the (status, due_at) index (storage.insights); the
commit that moves one out of waiting (sent, suppressed, cancelled, failed, answered) counts it.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.models import Delivery, DeliveryStatus, FunnelTally, Response

STEPS = ("eligible", "sent", "delivered", "answered", "commented")
_D = Delivery.__table__  # type: ignore[attr-defined]
_R = Response.__table__  # type: ignore[attr-defined]
_WAITING = [str(s) for s in (DeliveryStatus.SCHEDULED, DeliveryStatus.CLAIMED, DeliveryStatus.SENDING)]
_LOST = [str(DeliveryStatus.FAILED), str(DeliveryStatus.UNKNOWN)]
# Columns whose change can move a delivery in the funnel.
DELIVERY_FIELDS = ("status", "sent_at", "last_error", "channel", "is_test")
_BATCH = 1000  # ids per statement: a bulk transaction (the demo history) touches many more than SQLite binds


def _answered(r: Any) -> Any:
    return r.c.id.is_not(None)


def _commented(r: Any) -> Any:
    return sa.and_(r.c.comment.is_not(None), r.c.comment != "")


def step_of(d: Any = _D, r: Any = _R) -> Any:
    """The furthest step of a delivery `d` outer-joined to its response `r`, as SQL."""
    return sa.case(
        (_commented(r), "commented"),
        (_answered(r), "answered"),
        (d.c.sent_at.is_(None), "eligible"),
        (d.c.status.in_(_LOST), "sent"),
        else_="delivered",
    )


def reason_of(d: Any = _D, r: Any = _R) -> Any:
    """Why the delivery went no further than its step, as SQL: "" once answered."""
    status, error = d.c.status, d.c.last_error
    not_sent = sa.case(
        (status.in_(_WAITING), "pending"),  # its delay, quiet hours or a retry: it may still go
        (status == str(DeliveryStatus.SUPPRESSED), sa.case((error == "throttled", "throttled"), else_="opted_out")),
        (status == str(DeliveryStatus.FAILED),
         sa.case((error.is_(None), "unreachable"), (error.like("template:%"), "template_error"), else_="failed")),
        else_=status,  # expired, cancelled
    )
    return sa.case(
        (_answered(r), ""),
        (d.c.sent_at.is_(None), not_sent),
        (status.in_(_LOST), status),
        (status == str(DeliveryStatus.EXPIRED), "expired"),
        else_="awaiting",
    )


def pending(d: Any = _D, r: Any = _R) -> Any:
    """A delivery waiting to be sent (scheduled, claimed or sending, unanswered), as SQL: see PENDING."""
    return sa.and_(d.c.sent_at.is_(None), d.c.status.in_(_WAITING), r.c.id.is_(None))


def _tally_of(step: str, reason: str, channel: str) -> str:
    return f"{step}:{reason}:{channel}"


_CURRENT = (
    sa.select(_D.c.id, _D.c.created_at, _D.c.flow_key, _D.c.channel, _D.c.is_test, _D.c.funnel_tally,
              step_of().label("step"), reason_of().label("reason"))
    .select_from(_D.outerjoin(_R, _R.c.delivery_id == _D.c.id))
    .where(_D.c.id.in_(sa.bindparam("ids", expanding=True)))
    .with_for_update(of=_D)
)
_MOVE = sa.update(_D).where(_D.c.id == sa.bindparam("delivery_id")).values(funnel_tally=sa.bindparam("tally"))


def _not_sent(status: str, error: str | None) -> str:
    """reason_of for a delivery neither sent nor answered, in Python: for a delivery being inserted."""
    if status in _WAITING:
        return "pending"
    if status == DeliveryStatus.SUPPRESSED:
        return "throttled" if error == "throttled" else "opted_out"
    if status == DeliveryStatus.FAILED:
        return "unreachable" if error is None else "template_error" if error.startswith("template:") else "failed"
    return status


def count_new(session: Session, created_at: datetime, flow_key: str, channel: str, status: str, is_test: bool
              ) -> str | None:
    """A delivery about to be inserted with SQL, not sent yet: counted at commit without reading it back (unless it
    waits to be sent, as ingestion's do: see PENDING). Returns its `funnel_tally`, for the INSERT."""
    reason = _not_sent(status, None)
    if is_test or reason == "pending":
        return None
    moves = session.info.setdefault("funnel_counted", Counter())
    moves[(created_at.date(), flow_key, channel, "eligible", reason)] += 1
    return _tally_of("eligible", reason, channel)


def _move(moves: Counter[tuple], day: Any, flow_key: str, old: str | None, now: str | None) -> None:
    """A delivery leaves the tally row it was counted under (`old`) for `now`."""
    for tally, sign in ((old, -1), (now, 1)):
        if tally:
            step, reason, channel = tally.split(":", 2)
            moves[(day, flow_key, channel, step, reason)] += sign


def settle_answered(session: Session, delivery: Delivery, commented: bool) -> None:
    """A delivery read locked (so its `funnel_tally` is current) and answered in this transaction: its move is
    counted now and `funnel_tally` set for the caller's own UPDATE to write, with nothing read at commit."""
    now = None if delivery.is_test else _tally_of("commented" if commented else "answered", "", delivery.channel)
    session.info.setdefault("funnel_settled", {})[delivery.id] = commented
    if now != delivery.funnel_tally:
        _move(session.info.setdefault("funnel_counted", Counter()), delivery.created_at.date(), delivery.flow_key,
              delivery.funnel_tally, now)
        delivery.funnel_tally = now


def note_answer(session: Session, delivery_id: int, commented: bool) -> None:
    """A response written with SQL: its delivery recounted at commit, unless the answer path settled it so."""
    if session.info.get("funnel_settled", {}).get(delivery_id) is not commented:
        note_deliveries(session, [delivery_id])


def note_deliveries(session: Session, ids: Any) -> None:
    """Deliveries whose status, send, channel or answer this transaction changed with SQL: recounted at commit."""
    session.info.setdefault("funnel_ids", set()).update(i for i in ids if i is not None)


def note_delivery_objects(session: Session) -> None:
    """Before a flush: the ORM's deliveries and responses that may move a delivery in the funnel."""
    noted = session.info.setdefault("funnel_ids", set())
    fresh = session.info.setdefault("funnel_new", [])
    for obj in session.new:
        if isinstance(obj, Delivery):
            fresh.append(obj)  # its id comes with the flush
        elif isinstance(obj, Response):
            noted.add(obj.delivery_id)
    for obj in session.dirty:
        if isinstance(obj, Delivery | Response):
            state = sa.inspect(obj)
            fields = DELIVERY_FIELDS if isinstance(obj, Delivery) else ("comment", "delivery_id")
            if any(state.attrs[name].history.has_changes() for name in fields):
                noted.add(obj.id if isinstance(obj, Delivery) else obj.delivery_id)
                if isinstance(obj, Response):
                    noted.update(state.attrs["delivery_id"].history.deleted or ())
    for obj in session.deleted:
        if isinstance(obj, Response):
            noted.add(obj.delivery_id)
        elif isinstance(obj, Delivery) and obj.funnel_tally:
            _move(session.info.setdefault("funnel_counted", Counter()), obj.created_at.date(), obj.flow_key,
                  obj.funnel_tally, None)


def funnel_moves(session: Session) -> Counter[tuple]:
    """Just before commit, after the last flush: (day, flow, channel, step, reason) -> change in deliveries,
    with each touched delivery's `funnel_tally` set to where it now counts."""
    ids = set(session.info.pop("funnel_ids", ()))
    ids.update(obj.id for obj in session.info.pop("funnel_new", ()) if obj.id is not None)
    moves: Counter[tuple] = session.info.pop("funnel_counted", Counter())
    session.info.pop("funnel_settled", None)
    if not ids:
        return moves
    connection = session.connection()
    changed = []
    ordered = sorted(ids)
    rows = [row for start in range(0, len(ordered), _BATCH)
            for row in connection.execute(_CURRENT, {"ids": ordered[start:start + _BATCH]}).all()]
    for row in rows:
        waiting = row.step == "eligible" and row.reason == "pending"
        now = None if row.is_test or waiting else _tally_of(row.step, row.reason, row.channel)
        if now == row.funnel_tally:
            continue
        _move(moves, row.created_at.date(), row.flow_key, row.funnel_tally, now)
        changed.append({"delivery_id": row.id, "tally": now})
    if changed:
        connection.execute(_MOVE, changed)
    return moves


def forget(session: Session) -> None:
    for key in ("funnel_ids", "funnel_new", "funnel_counted", "funnel_settled"):
        session.info.pop(key, None)


def refill(connection: sa.Connection) -> None:
    """Count every delivery from its row, as the commits would have: for data written around the ORM (a bench,
    a bulk import). Replaces what the tally held."""
    d, r = _D.alias("d"), _R.alias("r")
    joined = d.outerjoin(r, r.c.delivery_id == d.c.id)
    step, reason = step_of(d, r), reason_of(d, r)
    label = sa.type_coerce(step, sa.String) + ":" + sa.type_coerce(reason, sa.String) + ":" + d.c.channel
    connection.execute(sa.update(_D).values(funnel_tally=None))
    connection.execute(
        sa.update(_D).where(~_D.c.is_test).values(
            funnel_tally=sa.select(label).select_from(joined).where(d.c.id == _D.c.id, ~pending(d, r))
            .scalar_subquery()))
    table = FunnelTally.__table__  # type: ignore[attr-defined]
    connection.execute(table.delete())
    day = sa.cast(d.c.created_at, sa.Date) if connection.dialect.name == "postgresql" else sa.func.date(d.c.created_at)
    keys = (day, d.c.flow_key, d.c.channel, step, reason)
    connection.execute(table.insert().from_select(
        ["day", "flow_key", "channel", "step", "reason", "shard", "deliveries"],
        sa.select(*keys, sa.literal(0), sa.func.count()).select_from(joined).where(~d.c.is_test, ~pending(d, r))
        .group_by(*keys)))


def counted_from_rows(session: Session) -> Counter[tuple]:
    """(day, flow, channel, step, reason) -> deliveries, counted from the rows: what the tally must hold (the
    deliveries waiting to be sent left out)."""
    d, r = _D.alias("d"), _R.alias("r")
    step, reason = step_of(d, r), reason_of(d, r)
    query = (sa.select(d.c.created_at, d.c.flow_key, d.c.channel, step.label("step"), reason.label("reason"))
             .select_from(d.outerjoin(r, r.c.delivery_id == d.c.id)).where(~d.c.is_test, ~pending(d, r)))
    return Counter((row.created_at.date(), row.flow_key, row.channel, row.step, row.reason)
                   for row in session.connection().execute(query))
