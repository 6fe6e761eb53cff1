"""comment language: the language detected in a response's comment

Revision ID: 0021
Revises: 0016
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0021"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("response", sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))


def downgrade() -> None:
    # In place: rebuilding the table would trip the foreign keys that point at it.
    with op.batch_alter_table("response", recreate="never") as batch_op:
        batch_op.drop_column("language")
