"""insights: the sum of squared scores in the response tallies (CES intervals), a daily tally of the events a
flow skipped and why (the funnel), and an index on delivery.created_at (the funnel's date range)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_GROUP = ("flow_key", "channel", "question", "band", "sentiment")


def upgrade() -> None:
    with op.batch_alter_table("responsetally", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("score_sq_sum", sa.Integer(), nullable=False, server_default="0"))
    # Each group's squares go to its lowest shard; readers sum the shards, so any one of them will do.
    same_group = " AND ".join(f"t.{c} = responsetally.{c}" for c in ("day", *_GROUP))
    from_rows = " AND ".join(f"coalesce(r.{c}, '') = responsetally.{c}" for c in ("band", "sentiment"))
    op.execute(
        "UPDATE responsetally SET score_sq_sum = coalesce((SELECT sum(r.score * r.score) FROM response r "
        "WHERE date(r.answered_at) = responsetally.day AND r.flow_key = responsetally.flow_key "
        f"AND r.channel = responsetally.channel AND r.question = responsetally.question AND {from_rows}), 0) "
        f"WHERE shard = (SELECT min(t.shard) FROM responsetally t WHERE {same_group})"
    )
    op.create_table(
        "skiptally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("flow_key", _TEXT(length=64), nullable=False),
        sa.Column("channel", _TEXT(length=32), nullable=False),
        sa.Column("reason", _TEXT(length=32), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "flow_key", "channel", "reason", "shard"),
    )
    op.create_index("ix_delivery_created_at", "delivery", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_delivery_created_at", table_name="delivery")
    op.drop_table("skiptally")
    with op.batch_alter_table("responsetally", recreate="never") as batch_op:
        batch_op.drop_column("score_sq_sum")
