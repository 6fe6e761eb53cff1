"""held status reports: provider callbacks that arrive before their message is stored

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "heldstatus",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("provider_message_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("report", storage.types.JSONType, nullable=False),
        sa.Column("received_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_heldstatus_provider_message_id", "heldstatus", ["provider_message_id"])


def downgrade() -> None:
    op.drop_index("ix_heldstatus_provider_message_id", table_name="heldstatus")
    op.drop_table("heldstatus")
