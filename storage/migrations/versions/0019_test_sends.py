"""test sends: a delivery (and its answer) an admin sent themself to try a flow, kept out of every figure

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("delivery", "response"):
        op.add_column(table, sa.Column("is_test", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    for table in ("delivery", "response"):
        with op.batch_alter_table(table, recreate="never") as batch_op:
            batch_op.drop_column("is_test")
