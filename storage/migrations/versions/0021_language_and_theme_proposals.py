"""comment language and theme proposals: the language detected in a response's comment, and the themes the
worker proposes from comments no theme covers

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("response", sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
    op.create_table(
        "themeproposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("words", storage.types.JSONType, nullable=False),
        sa.Column("examples", storage.types.JSONType, nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("keywords", storage.types.JSONType, nullable=True),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("decided_at", storage.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_themeproposal_status"), "themeproposal", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_themeproposal_status"), table_name="themeproposal")
    op.drop_table("themeproposal")
    # In place: rebuilding the table would trip the foreign keys that point at it.
    with op.batch_alter_table("response", recreate="never") as batch_op:
        batch_op.drop_column("language")
