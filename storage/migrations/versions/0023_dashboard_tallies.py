"""dashboard tallies: the funnel tally (deliveries per day, flow and channel by the furthest step they reached,
filled from the rows) and the segment tallies (answers per value of the segments an admin picks; none picked yet)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from storage.types import UTCDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

# As storage.funnel counts a delivery: d the delivery, r its response (outer-joined).
_COMMENTED = "r.comment IS NOT NULL AND r.comment <> ''"
_STEP = (f"CASE WHEN {_COMMENTED} THEN 'commented' WHEN r.id IS NOT NULL THEN 'answered' "
         "WHEN d.sent_at IS NULL THEN 'eligible' WHEN d.status IN ('failed', 'unknown') THEN 'sent' "
         "ELSE 'delivered' END")
_NOT_SENT = ("CASE WHEN d.status IN ('scheduled', 'claimed', 'sending') THEN 'pending' "
             "WHEN d.status = 'suppressed' THEN (CASE WHEN d.last_error = 'throttled' THEN 'throttled' "
             "ELSE 'opted_out' END) "
             "WHEN d.status = 'failed' THEN (CASE WHEN d.last_error IS NULL THEN 'unreachable' "
             "WHEN d.last_error LIKE 'template:%' THEN 'template_error' ELSE 'failed' END) "
             "ELSE d.status END")
_REASON = (f"CASE WHEN r.id IS NOT NULL THEN '' WHEN d.sent_at IS NULL THEN ({_NOT_SENT}) "
           "WHEN d.status IN ('failed', 'unknown') THEN d.status WHEN d.status = 'expired' THEN 'expired' "
           "ELSE 'awaiting' END")
_JOINED = "delivery d LEFT OUTER JOIN response r ON r.delivery_id = d.id"
# Waiting to be sent: left out of the tally, counted from the rows by the dashboard (storage.funnel).
_COUNTED = ("NOT d.is_test AND NOT (d.sent_at IS NULL AND d.status IN ('scheduled', 'claimed', 'sending') "
            "AND r.id IS NULL)")


def upgrade() -> None:
    op.add_column("delivery", sa.Column("funnel_tally", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.create_table(
        "funneltally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("flow_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "flow_key", "channel", "step", "reason", "shard"),
    )
    op.create_table(
        "segmenttally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("segment", sqlmodel.sql.sqltypes.AutoString(length=72), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("flow_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("question", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("band", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Integer(), nullable=False),
        sa.Column("score_sq_sum", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("segment", "day", "flow_key", "channel", "question", "value", "band", "shard"),
    )
    op.create_table(
        "talliedsegment",
        sa.Column("segment", sqlmodel.sql.sqltypes.AutoString(length=72), nullable=False),
        sa.Column("picked_at", UTCDateTime(), nullable=False),
        sa.Column("picked_by", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.PrimaryKeyConstraint("segment"),
    )
    day = "CAST(d.created_at AS date)" if op.get_bind().dialect.name == "postgresql" else "date(d.created_at)"
    op.execute(
        f"UPDATE delivery SET funnel_tally = (SELECT {_STEP} || ':' || {_REASON} || ':' || d.channel "
        f"FROM {_JOINED} WHERE d.id = delivery.id AND {_COUNTED}) WHERE NOT delivery.is_test"
    )
    op.execute(
        f"INSERT INTO funneltally (day, flow_key, channel, step, reason, shard, deliveries) "
        f"SELECT {day}, d.flow_key, d.channel, {_STEP}, {_REASON}, 0, count(*) FROM {_JOINED} "
        f"WHERE {_COUNTED} GROUP BY {day}, d.flow_key, d.channel, {_STEP}, {_REASON}"
    )


def downgrade() -> None:
    op.drop_table("talliedsegment")
    op.drop_table("segmenttally")
    op.drop_table("funneltally")
    with op.batch_alter_table("delivery", recreate="never") as batch:
        batch.drop_column("funnel_tally")
