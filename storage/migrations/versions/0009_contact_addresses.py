"""contact addresses: one row per contact and address kind instead of a column per channel

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
# The columns this revision turns into rows, each named after its kind, with its length.
_COLUMNS = {"email": 320, "phone": 32, "slack_user_id": 64}


def upgrade() -> None:
    op.create_table(
        "contact_address",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("kind", _TEXT(length=32), nullable=False),
        sa.Column("address", _TEXT(length=320), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.PrimaryKeyConstraint("contact_id", "kind"),
    )
    op.create_index("ix_contact_address_kind_address", "contact_address", ["kind", "address"])
    for column in _COLUMNS:
        op.execute(f"INSERT INTO contact_address (contact_id, kind, address) "
                   f"SELECT id, '{column}', {column} FROM contact WHERE {column} IS NOT NULL")
    # SQLite drops a plain column in place (3.35+): rebuilding `contact` would trip the foreign keys onto it.
    with op.batch_alter_table("contact", recreate="never") as batch_op:
        for column in _COLUMNS:
            batch_op.drop_index(f"ix_contact_{column}")
            batch_op.drop_column(column)


def downgrade() -> None:
    """Addresses of kinds that had no column (a newer channel's) are lost."""
    with op.batch_alter_table("contact", recreate="never") as batch_op:
        for column, length in _COLUMNS.items():
            batch_op.add_column(sa.Column(column, _TEXT(length=length), nullable=True))
            batch_op.create_index(f"ix_contact_{column}", [column], unique=False)
    for column in _COLUMNS:
        op.execute(f"UPDATE contact SET {column} = (SELECT address FROM contact_address "
                   f"WHERE contact_address.contact_id = contact.id AND kind = '{column}')")
    op.drop_index("ix_contact_address_kind_address", table_name="contact_address")
    op.drop_table("contact_address")
