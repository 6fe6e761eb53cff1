"""Segment tallies: scored answers per day, group and value of the contact attributes and event properties an
admin picked as the dashboard's segments.

Any attribute or property may be asked for, and counting them all at every answer would cost every answer for
keys nobody reads; so an admin picks the ones worth keeping. Picking one counts the answers already stored by
SQL, in the pick's transaction; on PostgreSQL the response table is locked against writes (SHARE mode) for that
statement, so an answer is counted either there or, once the pick is committed, at its own commit: never twice,
never lost. From then on each answer written (through the ORM or storage.responses) moves the tallies of the
picked segments at commit, with the tallies of storage.tallies, under the value its contact's attribute or its
event's property has then. An answer keeps the value it was counted under: a contact whose plan changes later
does not move their past answers (the dashboard shows segments as they were when the customers answered).
A "did we fix it?" answer and a test send's answer are not counted, as in the response tallies.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.models import Contact, Delivery, Event, Response, SegmentTally, TalliedSegment

SOURCES = ("contact", "event")
MAX_VALUE = 200
_COUNTERS = ("answers", "scored", "score_sum", "score_sq_sum")
PICKED = sa.select(TalliedSegment.__table__.c.segment)  # type: ignore[attr-defined]
_C, _D, _E, _R = (m.__table__ for m in (Contact, Delivery, Event, Response))  # type: ignore[attr-defined]
_TALLY = SegmentTally.__table__  # type: ignore[attr-defined]


def text_of(value: Any) -> str:
    """A JSON value as the segment's text, as PostgreSQL's ->> gives it: "" when absent, cut to MAX_VALUE."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, dict | list):
        text = json.dumps(value, separators=(", ", ": "))
    else:
        text = str(value)
    return text[:MAX_VALUE]


def picked(session: Session) -> list[str]:
    """The segments tallied, e.g. ["contact.plan", "event.store"]."""
    return sorted(session.connection().execute(PICKED).scalars())


def is_picked(session: Session, segment: str) -> bool:
    table = TalliedSegment.__table__  # type: ignore[attr-defined]
    query = sa.select(table.c.segment).where(table.c.segment == segment)
    return session.connection().execute(query).first() is not None


def pick(session: Session, segment: str, by: str = "") -> bool:
    """Tally `segment` from now on and count the answers already stored; False when it was picked already."""
    if is_picked(session, segment):
        return False
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("LOCK TABLE response IN SHARE MODE")
    connection.execute(_TALLY.delete().where(_TALLY.c.segment == segment))
    connection.execute(fill_statement(connection.dialect.name, segment))
    connection.execute(sa.insert(TalliedSegment.__table__).values(  # type: ignore[attr-defined]
        segment=segment, picked_at=datetime.now(UTC), picked_by=by))
    return True


def unpick(session: Session, segment: str) -> bool:
    """Stop tallying `segment` and forget its tallies; the dashboard computes it from the answers again."""
    connection = session.connection()
    table = TalliedSegment.__table__  # type: ignore[attr-defined]
    gone = connection.execute(sa.delete(table).where(table.c.segment == segment)).rowcount
    connection.execute(_TALLY.delete().where(_TALLY.c.segment == segment))
    return bool(gone)


def fill_statement(dialect: str, segment: str) -> Any:
    """INSERT ... SELECT counting every stored answer under `segment`, as the commits count them."""
    source, _, key = segment.partition(".")
    r = _R.alias("r")
    if source == "contact":
        c = _C.alias("c")
        value, joined = c.c.attributes[key].as_string(), r.join(c, c.c.id == r.c.contact_id)
    else:
        d, e = _D.alias("d"), _E.alias("e")
        value = e.c.properties[key].as_string()
        joined = r.join(d, d.c.id == r.c.delivery_id).join(e, e.c.id == d.c.event_id)
    if dialect == "sqlite":  # json_extract gives true as 1: the text PostgreSQL's ->> gives instead
        column = c.c.attributes if source == "contact" else e.c.properties
        kind = sa.func.json_type(column, f'$."{key}"')
        value = sa.case((kind == "true", "true"), (kind == "false", "false"), else_=value)
    text = sa.func.substr(sa.func.coalesce(sa.cast(value, sa.String), ""), 1, MAX_VALUE)
    day = sa.cast(r.c.answered_at, sa.Date) if dialect == "postgresql" else sa.func.date(r.c.answered_at)
    band = sa.func.coalesce(r.c.band, "")
    keys = (day, r.c.flow_key, r.c.channel, r.c.question, text, band)
    score = r.c.score
    return _TALLY.insert().from_select(
        ["day", "flow_key", "channel", "question", "value", "band", "segment", "shard", *_COUNTERS],
        sa.select(*keys, sa.literal(segment), sa.literal(0), sa.func.count(), sa.func.count(score),
                  sa.func.coalesce(sa.func.sum(score), 0), sa.func.coalesce(sa.func.sum(score * score), 0))
        .select_from(joined).where(r.c.recheck_of.is_(None), ~r.c.is_test).group_by(*keys))


def _batched(connection: sa.Connection, query: Any, ids: list[int], size: int = 1000) -> list[Any]:
    return [row for start in range(0, len(ids), size)
            for row in connection.execute(query, {"ids": ids[start:start + size]}).all()]


def segment_moves(session: Session, versions: list[tuple[int, dict[str, Any]]], shard: int,
                  segments: list[str] | None = None) -> Counter[tuple]:
    """At commit: (segment, day, flow, channel, question, value, band, shard, counter) -> change, for the answers
    this transaction wrote (`versions`: +1 new values, -1 old ones), under every picked segment (`segments`, or
    read now when not given). The picked segments must be read after the answers are written: see pick."""
    moves: Counter[tuple] = Counter()
    net: Counter[tuple] = Counter()  # a re-tag writes the same answer twice, -1 and +1: nothing to read then
    for sign, v in versions:
        if v["recheck_of"] is None and not v["is_test"]:
            net[(v["contact_id"], v["delivery_id"], v["answered_at"].date(), v["flow_key"], v["channel"],
                 v["question"], v["band"] or "", v["score"])] += sign
    counted = [(key, n) for key, n in net.items() if n]
    if not counted:
        return moves
    if segments is None:
        segments = picked(session)
    if not segments:
        return moves
    connection = session.connection()
    attributes: dict[int, dict] = {}
    properties: dict[int, dict] = {}
    if any(s.startswith("contact.") for s in segments):
        ids = sorted({key[0] for key, _ in counted})
        query = sa.select(_C.c.id, _C.c.attributes).where(_C.c.id.in_(sa.bindparam("ids", expanding=True)))
        attributes = {i: a or {} for i, a in _batched(connection, query, ids)}
    if any(s.startswith("event.") for s in segments):
        ids = sorted({key[1] for key, _ in counted})
        query = (sa.select(_D.c.id, _E.c.properties).select_from(_D.join(_E, _E.c.id == _D.c.event_id))
                 .where(_D.c.id.in_(sa.bindparam("ids", expanding=True))))
        properties = {i: p or {} for i, p in _batched(connection, query, ids)}
    for (contact_id, delivery_id, day, flow_key, channel, question, band, score), sign in counted:
        for segment in segments:
            source, _, key = segment.partition(".")
            found = attributes.get(contact_id) if source == "contact" else properties.get(delivery_id)
            group = (segment, day, flow_key, channel, question, text_of((found or {}).get(key)), band, shard)
            moves[(*group, "answers")] += sign
            moves[(*group, "scored")] += sign * (score is not None)
            moves[(*group, "score_sum")] += sign * (score or 0)
            moves[(*group, "score_sq_sum")] += sign * (score or 0) ** 2
    return moves
