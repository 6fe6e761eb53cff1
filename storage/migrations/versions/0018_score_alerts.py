"""score alerts and insights digests: one row per drop episode, one per digest period sent

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _string(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "score_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("open_key", _string(200), nullable=True),
        sa.Column("flow_key", _string(64), nullable=False),
        sa.Column("segment", _string(100), nullable=False),
        sa.Column("metric", _string(16), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("baseline_start", sa.Date(), nullable=False),
        sa.Column("window_n", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=False)
          for name in ("window_value", "window_low", "window_high")),
        sa.Column("baseline_n", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=False)
          for name in ("baseline_value", "baseline_low", "baseline_high", "delta", "delta_low", "delta_high")),
        sa.Column("themes", storage.types.JSONType, nullable=False),
        sa.Column("notified", _string(100), nullable=False),
        sa.Column("fired_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("recovered_at", storage.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_key"),
    )
    op.create_index(op.f("ix_score_alert_flow_key"), "score_alert", ["flow_key"], unique=False)
    op.create_table(
        "insights_digest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", _string(16), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("sent_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period", "period_start"),
    )


def downgrade() -> None:
    op.drop_table("insights_digest")
    op.drop_index(op.f("ix_score_alert_flow_key"), table_name="score_alert")
    op.drop_table("score_alert")
