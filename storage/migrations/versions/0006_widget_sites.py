"""widget sites and displays: the web apps that embed the widget, and which surveys it showed

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("public_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("secret", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("allowed_origins", storage.types.JSONType, nullable=False),
        sa.Column("recontact_days", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
        sa.UniqueConstraint("public_key"),
    )
    op.create_table(
        "widgetdisplay",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("shown_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("dismissed_at", storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
        sa.ForeignKeyConstraint(["delivery_id"], ["delivery.id"]),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_id"),
    )
    op.create_index("ix_widgetdisplay_contact_shown", "widgetdisplay", ["contact_id", "shown_at"])
    op.create_index("ix_widgetdisplay_site_id", "widgetdisplay", ["site_id"])


def downgrade() -> None:
    op.drop_index("ix_widgetdisplay_site_id", table_name="widgetdisplay")
    op.drop_index("ix_widgetdisplay_contact_shown", table_name="widgetdisplay")
    op.drop_table("widgetdisplay")
    op.drop_table("site")
