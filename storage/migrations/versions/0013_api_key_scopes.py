"""API key scopes: each key says what it may do; the keys made before scopes existed keep full access (admin)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The default fills the existing rows, then goes: a new key always names its scopes.
    with op.batch_alter_table("apikey") as batch_op:
        batch_op.add_column(sa.Column("scopes", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False,
                                      server_default="admin"))
    with op.batch_alter_table("apikey") as batch_op:
        batch_op.alter_column("scopes", server_default=None)


def downgrade() -> None:
    """Every key regains full access."""
    with op.batch_alter_table("apikey") as batch_op:
        batch_op.drop_column("scopes")
