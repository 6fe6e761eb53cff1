"""the workbench: each user's daily digest of their cases (asked for, and the day last sent)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("digest", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("digest_sent_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user", recreate="never") as batch_op:
        for column in ("digest_sent_on", "digest"):
            batch_op.drop_column(column)
