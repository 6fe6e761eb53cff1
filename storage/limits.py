"""Rate limits that every process counts in: one row per key and fixed window, bumped by one statement.

The statement inserts the key's first hit, or adds one to its window, or starts a new window when the old
one is over, and returns the window, so a hit costs one round trip and two processes never both see room
for the last request.
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa

from storage.models import RateWindow
from storage.upsert import INSERTS

_TABLE: Any = RateWindow.__table__  # type: ignore[attr-defined]


def _hit_statement(insert: Any) -> Any:
    stmt = insert(_TABLE).values(key=sa.bindparam("key"), window_start=sa.bindparam("now"), hits=1)
    over = _TABLE.c.window_start <= sa.bindparam("cutoff")
    return stmt.on_conflict_do_update(
        index_elements=["key"],
        set_={"window_start": sa.case((over, stmt.excluded.window_start), else_=_TABLE.c.window_start),
              "hits": sa.case((over, 1), else_=_TABLE.c.hits + 1)},
    ).returning(_TABLE.c.window_start, _TABLE.c.hits)


_HIT = {name: _hit_statement(insert) for name, insert in INSERTS.items()}


def limit_key(secret: str, key: str) -> str:
    """What is stored for a key: a keyed digest, so no address or user id sits in the table."""
    return hashlib.blake2b(key.encode(), key=secret.encode()[:64], digest_size=32).hexdigest()


def hit(engine: sa.Engine, key: str, limit: int, window: float, now: float) -> float | None:
    """Count a hit on `key` (a digest, see limit_key): None when it is within `limit` per `window` seconds,
    else the seconds until the window ends."""
    with engine.begin() as connection:
        start, hits = connection.execute(_HIT[connection.dialect.name],
                                         {"key": key, "now": now, "cutoff": now - window}).one()
    return None if hits <= limit else max(0.0, start + window - now)


def forget_windows(engine: sa.Engine, before: float) -> int:
    """Drop windows that ended before `before` (a flood of distinct keys must not grow the table for ever)."""
    with engine.begin() as connection:
        return connection.execute(sa.delete(_TABLE).where(_TABLE.c.window_start < before)).rowcount
