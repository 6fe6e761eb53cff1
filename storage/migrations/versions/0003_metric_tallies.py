"""daily tallies behind /metrics, filled from the responses and sends already stored

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "responsetally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("flow_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("question", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("band", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("sentiment", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "flow_key", "channel", "question", "band", "sentiment"),
    )
    op.create_table(
        "senttally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("flow_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "flow_key", "channel"),
    )
    op.create_index("ix_delivery_sent_at", "delivery", ["sent_at"])
    op.execute(
        "INSERT INTO responsetally (day, flow_key, channel, question, band, sentiment, answers, scored, score_sum) "
        "SELECT date(answered_at), flow_key, channel, question, coalesce(band, ''), coalesce(sentiment, ''), "
        "count(*), count(score), coalesce(sum(score), 0) FROM response GROUP BY 1, 2, 3, 4, 5, 6"
    )
    op.execute(
        "INSERT INTO senttally (day, flow_key, channel, sent) "
        "SELECT date(sent_at), flow_key, channel, count(*) FROM delivery WHERE sent_at IS NOT NULL GROUP BY 1, 2, 3"
    )


def downgrade() -> None:
    op.drop_index("ix_delivery_sent_at", table_name="delivery")
    op.drop_table("senttally")
    op.drop_table("responsetally")
