"""Daily tallies of responses and sends, kept in step by the ORM in the transaction that changes them.

Counting a million responses on every /metrics request costs a few hundred milliseconds; the tallies hold
one row per day, flow, channel, question, band and sentiment, so /metrics reads a few hundred rows at most;
the theme tallies hold the same per theme of the comment, for the insights dashboard; the funnel tally holds
the deliveries by the furthest step they reached (storage.funnel keeps it), the segment tallies the answers
per value of the segments an admin picked (storage.segments); both move here with the others.
Every insert, change or delete of a Response (a score correction, a sentiment tag) and every delivery that
gets a `sent_at` is noted at flush and moves the counters just before the commit, in the same transaction,
so a rolled-back change never counts. Bulk SQL on these tables must keep the tallies itself. A "did we fix
it?" survey (`recheck_of`) and its answer are not counted: they measure their case, not their flow; nor is an
admin's test send (`is_test`) or its answer.

Each group's counters are spread over SHARDS rows, one picked at random per transaction: answers to the same
flow arrive together, and with a single row every transaction would wait for the previous one's commit to
take its lock. Readers sum the shards, as they sum the days.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage import funnel, segments
from storage.models import (
    Delivery,
    FunnelTally,
    Response,
    ResponseTally,
    SegmentTally,
    SentTally,
    SkipTally,
    ThemeTally,
)
from storage.upsert import INSERTS

_TRACKED: dict[type, tuple[str, ...]] = {
    Response: ("answered_at", "flow_key", "channel", "question", "band", "sentiment", "score", "recheck_of",
               "is_test", "themes", "contact_id", "delivery_id"),
    Delivery: ("sent_at", "flow_key", "channel", "recheck_of", "is_test"),
}
_RESPONSE_KEYS = ("day", "flow_key", "channel", "question", "band", "sentiment", "shard")
_SENT_KEYS = ("day", "flow_key", "channel", "shard")
_SKIP_KEYS = ("day", "flow_key", "channel", "reason", "shard")
_THEME_KEYS = ("day", "flow_key", "channel", "question", "theme", "band", "shard")
_FUNNEL_KEYS = ("day", "flow_key", "channel", "step", "reason", "shard")
_SEGMENT_KEYS = ("segment", "day", "flow_key", "channel", "question", "value", "band", "shard")
_SCORE_COUNTERS = ("answers", "scored", "score_sum", "score_sq_sum")
# Written at commit in this order, so two transactions lock the tallies they share in the same order.
_TALLIES: list[tuple[sa.Table, tuple[str, ...], tuple[str, ...]]] = [
    (ResponseTally.__table__, _RESPONSE_KEYS, _SCORE_COUNTERS),  # type: ignore[attr-defined]
    (ThemeTally.__table__, _THEME_KEYS, _SCORE_COUNTERS),  # type: ignore[attr-defined]
    (SentTally.__table__, _SENT_KEYS, ("sent",)),  # type: ignore[attr-defined]
    (SkipTally.__table__, _SKIP_KEYS, ("skipped",)),  # type: ignore[attr-defined]
    (FunnelTally.__table__, _FUNNEL_KEYS, ("deliveries",)),  # type: ignore[attr-defined]
]
SHARDS = 8
_AT_ONCE = 32  # tally rows a transaction writes in one statement, on PostgreSQL (see _write)


def _old_values(session: Session, obj: Any) -> dict[str, Any]:
    """The tracked columns as stored: from the attribute history, or from the row when never loaded."""
    fields = _TRACKED[type(obj)]
    state = sa.inspect(obj)
    histories = [state.attrs[name].history for name in fields]
    if all(h.deleted or h.unchanged for h in histories):
        return {name: (h.deleted or h.unchanged)[0] for name, h in zip(fields, histories, strict=True)}
    table = type(obj).__table__
    row = session.connection().execute(sa.select(*(table.c[f] for f in fields)).where(table.c.id == obj.id)).one()
    return dict(zip(fields, row, strict=True))


def _new_values(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in _TRACKED[type(obj)]}


def _changed(obj: Any) -> bool:
    state = sa.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in _TRACKED[type(obj)])


def _versions(session: Session) -> Iterator[tuple[int, Any, dict[str, Any]]]:
    """(+1, object, values) for what the flush adds and (-1, object, values) for what it takes away."""
    for obj in session.new:
        if type(obj) in _TRACKED:
            yield 1, obj, _new_values(obj)
    for obj in session.dirty:
        if type(obj) in _TRACKED and _changed(obj):
            yield -1, obj, _old_values(session, obj)
            yield 1, obj, _new_values(obj)
    for obj in session.deleted:
        if type(obj) in _TRACKED:
            yield -1, obj, _old_values(session, obj)


def _deltas(session: Session) -> tuple[Counter[tuple], Counter[tuple], Counter[tuple]]:
    responses: Counter[tuple] = Counter()
    sent: Counter[tuple] = Counter()
    themes: Counter[tuple] = Counter()
    shard = _shard(session)
    answers = session.info.setdefault("answer_versions", [])
    for sign, obj, v in list(_versions(session)):
        if isinstance(obj, Response):
            _count_response((responses, themes), sign, v, shard)
            answers.append((sign, v))
        elif v["sent_at"] is not None and v["recheck_of"] is None and not v["is_test"]:
            sent[(v["sent_at"].date(), v["flow_key"], v["channel"], shard, "sent")] += sign
    return responses, sent, themes


def _shard(session: Session) -> int:
    return session.info.setdefault("tally_shard", random.randrange(SHARDS))


def _count_response(counters: tuple[Counter[tuple], Counter[tuple]], sign: int, v: dict[str, Any], shard: int
                    ) -> None:
    """Into the response tallies and, once per distinct theme of its comment, the theme tallies."""
    if v["recheck_of"] is not None or v["is_test"]:  # a "did we fix it?" answer is its case's; a test, nobody's
        return
    day, band = v["answered_at"].date(), v["band"] or ""
    keys = [(counters[0], (day, v["flow_key"], v["channel"], v["question"], band, v["sentiment"] or "", shard))]
    keys += [(counters[1], (day, v["flow_key"], v["channel"], v["question"], str(theme), band, shard))
             for theme in sorted(set(v["themes"] or ()))]
    score = v["score"]
    for counter, key in keys:
        counter[(*key, "answers")] += sign
        counter[(*key, "scored")] += sign * (score is not None)
        counter[(*key, "score_sum")] += sign * (score or 0)
        counter[(*key, "score_sq_sum")] += sign * (score or 0) ** 2


def note_response_written(session: Session, before: Response | None, after: Response) -> None:
    """For a response written with SQL rather than through the ORM: move its counters at commit all the same."""
    pending = session.info.setdefault("tallies", (Counter(), Counter(), Counter()))
    shard = _shard(session)
    if before is None or bool(before.comment) != bool(after.comment):
        funnel.note_answer(session, after.delivery_id, bool(after.comment))
    answers = session.info.setdefault("answer_versions", [])
    if before is not None:
        _count_response((pending[0], pending[2]), -1, _new_values(before), shard)
        answers.append((-1, _new_values(before)))
    _count_response((pending[0], pending[2]), 1, _new_values(after), shard)
    answers.append((1, _new_values(after)))


def note_skip(session: Session, day: date, flow_key: str, reason: str) -> None:
    """An event the flow matched but did not survey: counted at commit, like the answers and sends."""
    skips = session.info.setdefault("skip_tallies", Counter())
    skips[(day, flow_key, "", reason, _shard(session), "skipped")] += 1


def _rows(deltas: Counter[tuple], keys: tuple[str, ...], counters: tuple[str, ...]) -> list[dict[str, Any]]:
    grouped: dict[tuple, dict[str, Any]] = {}
    for (*key, counter), value in deltas.items():
        row = grouped.setdefault(tuple(key), {**dict(zip(keys, key, strict=True)), **dict.fromkeys(counters, 0)})
        row[counter] += value
    # Sorted, so two transactions touching the same tallies lock them in the same order.
    return [grouped[key] for key in sorted(grouped, key=str) if any(grouped[key][c] for c in counters)]


def _upsert(connection: sa.Connection, table: sa.Table, keys: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    if rows:
        connection.execute(_adding_upsert(connection.dialect.name, table, keys), rows)


def _adding(insert: Any, table: sa.Table, keys: tuple[str, ...]) -> Any:
    """ON CONFLICT DO UPDATE adding the new row's counters to the stored ones."""
    counters = [column.name for column in table.c if column.name not in keys and not column.primary_key]
    return insert.on_conflict_do_update(
        index_elements=list(keys), set_={name: table.c[name] + insert.excluded[name] for name in counters}
    )


@functools.cache
def _adding_upsert(dialect: str, table: sa.Table, keys: tuple[str, ...]) -> Any:
    """Built once, then found in the statement cache."""
    return _adding(INSERTS[dialect](table), table, keys)


@functools.lru_cache(maxsize=256)
def _all_at_once(dialect: sa.Dialect, shape: tuple[tuple[int, int], ...]) -> str:
    """PostgreSQL: the rows of every tally in one statement (one data-modifying WITH per tally, `shape` giving
    each tally's index in _TALLIES and its number of rows), which also reads the picked segments: one round trip
    at commit instead of one per tally and one for the segments. Compiled once per shape, as text: SQLAlchemy
    caches no multi-row VALUES, and compiling one costs more than its round trip."""
    ctes = []
    for n, (index, count) in enumerate(shape):
        table, keys, counters = _TALLIES[index]
        columns = (*keys, *counters)
        rows = [{c: sa.bindparam(f"t{n}r{i}{c}", type_=table.c[c].type) for c in columns} for i in range(count)]
        ctes.append(_adding(INSERTS["postgresql"](table).values(rows), table, keys).cte(f"t{n}"))
    return str(segments.PICKED.add_cte(*ctes).compile(dialect=dialect))


def _write(connection: sa.Connection, groups: list[list[dict[str, Any]]]) -> list[str] | None:
    """Each tally's rows (in _TALLIES order). On PostgreSQL, a transaction's few rows go in one statement that
    returns the picked segments; a bulk transaction's, one statement per tally (a statement takes at most 65,535
    parameters), and the segments are not read (None)."""
    if connection.dialect.name == "postgresql" and sum(map(len, groups)) <= _AT_ONCE:
        shape = tuple((index, len(rows)) for index, rows in enumerate(groups) if rows)
        params = {f"t{n}r{i}{c}": value for n, (index, _) in enumerate(shape)
                  for i, row in enumerate(groups[index]) for c, value in row.items()}
        return sorted(connection.exec_driver_sql(_all_at_once(connection.dialect, shape), params).scalars())
    for (table, keys, _counters), rows in zip(_TALLIES, groups, strict=True):
        _upsert(connection, table, keys, rows)
    return None


def collect_tallies(session: Session, _context: Any, _instances: Any) -> None:
    """Before each flush: note what it will change; the counters move once, at commit."""
    responses, sent, themes = _deltas(session)
    funnel.note_delivery_objects(session)
    pending = session.info.setdefault("tallies", (Counter(), Counter(), Counter()))
    pending[0].update(responses)
    pending[1].update(sent)
    pending[2].update(themes)


def write_tallies(session: Session) -> None:
    """Just before commit, so the tally rows stay locked for the commit alone and workers do not queue."""
    session.flush()
    responses, sent, themes = session.info.pop("tallies", (Counter(), Counter(), Counter()))
    skips = session.info.pop("skip_tallies", Counter())
    shard = _shard(session)
    steps = Counter({(*key, shard, "deliveries"): n for key, n in funnel.funnel_moves(session).items()})
    answers = session.info.pop("answer_versions", [])
    session.info.pop("tally_shard", None)
    groups = [_rows(deltas, keys, counters) for deltas, (_table, keys, counters) in
              zip((responses, themes, sent, skips, steps), _TALLIES, strict=True)]
    picked = _write(session.connection(), groups) if any(groups) else None
    by_segment = segments.segment_moves(session, answers, shard, picked)
    _upsert(session.connection(), SegmentTally.__table__, _SEGMENT_KEYS,
            _rows(by_segment, _SEGMENT_KEYS, _SCORE_COUNTERS))


def forget_tallies(session: Session, *_args: Any) -> None:
    session.info.pop("tallies", None)
    session.info.pop("skip_tallies", None)
    session.info.pop("tally_shard", None)
    session.info.pop("answer_versions", None)
    funnel.forget(session)


def install() -> None:
    """Idempotent: from now on every session of the process keeps the tallies."""
    for name, listener in (("before_flush", collect_tallies), ("before_commit", write_tallies),
                           ("after_rollback", forget_tallies)):
        if not sa.event.contains(Session, name, listener):
            sa.event.listen(Session, name, listener)
