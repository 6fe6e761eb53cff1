"""tally shards: each tally row is split over a few shards, so concurrent answers do not queue on one row

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_KEYS = {
    "responsetally": [("flow_key", 64), ("channel", 32), ("question", 16), ("band", 16), ("sentiment", 16)],
    "senttally": [("flow_key", 64), ("channel", 32)],
}
_COUNTERS = {"responsetally": ["answers", "scored", "score_sum"], "senttally": ["sent"]}


def _rebuild(table: str, sharded: bool) -> None:
    """Copy the table into a new one with (or without) the shard column, then put it in its place."""
    keys = [name for name, _ in _KEYS[table]]
    new = f"{table}_rebuilt"
    columns = [sa.Column("id", sa.Integer(), nullable=False), sa.Column("day", sa.Date(), nullable=False)]
    columns += [sa.Column(name, _TEXT(length=length), nullable=False) for name, length in _KEYS[table]]
    if sharded:
        columns.append(sa.Column("shard", sa.Integer(), nullable=False))
    columns += [sa.Column(name, sa.Integer(), nullable=False) for name in _COUNTERS[table]]
    unique = ["day", *keys, *(["shard"] if sharded else [])]
    op.create_table(new, *columns, sa.PrimaryKeyConstraint("id"), sa.UniqueConstraint(*unique))
    counters = _COUNTERS[table]
    grouped = ", ".join(["day", *keys])
    if sharded:
        op.execute(f"INSERT INTO {new} ({grouped}, shard, {', '.join(counters)}) "
                   f"SELECT {grouped}, 0, {', '.join(counters)} FROM {table}")
    else:
        sums = ", ".join(f"sum({c})" for c in counters)
        op.execute(f"INSERT INTO {new} ({grouped}, {', '.join(counters)}) "
                   f"SELECT {grouped}, {sums} FROM {table} GROUP BY {grouped}")
    op.drop_table(table)
    op.rename_table(new, table)


def upgrade() -> None:
    _rebuild("responsetally", sharded=True)
    _rebuild("senttally", sharded=True)


def downgrade() -> None:
    _rebuild("responsetally", sharded=False)
    _rebuild("senttally", sharded=False)
