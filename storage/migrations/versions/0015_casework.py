"""casework: root causes, saved replies, "did we fix it?" surveys, and the indexes of the support workbench

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
_UNRESOLVED = sa.text("status <> 'resolved'")
_RECHECK = sa.text("recheck_of IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "root_cause",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _TEXT(length=64), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "saved_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _TEXT(length=64), nullable=False),
        sa.Column("text", _TEXT(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.add_column("followup", sa.Column("root_cause", _TEXT(length=64), nullable=True))
    op.add_column("followup", sa.Column("reply_channel", _TEXT(length=32), nullable=True))
    op.add_column("activity", sa.Column("detail", _TEXT(length=320), nullable=True))
    # A reply naming a closed survey (reply+TOKEN@) finds the survey's case by it.
    op.create_index("ix_followup_delivery_id", "followup", ["delivery_id"])
    # The inbox in due order (keyset on due_at, id), for any filter, and for the unresolved cases alone (all
    # queues, or one): those are the few that the inbox and the queue counts read among many resolved ones.
    op.create_index("ix_followup_due", "followup", ["due_at", "id"])
    op.create_index("ix_followup_unresolved_due", "followup", ["due_at", "id"], postgresql_where=_UNRESOLVED,
                    sqlite_where=_UNRESOLVED)
    op.create_index("ix_followup_unresolved_queue_due", "followup", ["queue_id", "due_at", "id"],
                    postgresql_where=_UNRESOLVED, sqlite_where=_UNRESOLVED)
    # The queue figures read the cases created in a period; so does the inbox's created filter.
    op.create_index("ix_followup_created_at", "followup", ["created_at"])
    op.add_column("followup", sa.Column("first_reply_at", storage.types.UTCDateTime(), nullable=True))
    op.add_column("queue", sa.Column("recheck_after_minutes", sa.Integer(), nullable=True))
    op.add_column("queue", sa.Column("lead_email", _TEXT(length=320), nullable=True))
    op.add_column("queue", sa.Column("overdue_assignee", _TEXT(length=320), nullable=True))
    op.add_column("followup", sa.Column("escalated_at", storage.types.UTCDateTime(), nullable=True))
    # "Did we fix it?" surveys and their answers name their case; the few that do are indexed alone.
    for table in ("delivery", "response"):
        op.add_column(table, sa.Column("recheck_of", sa.Integer(), nullable=True))
        op.create_index(f"ix_{table}_recheck_of", table, ["recheck_of"], postgresql_where=_RECHECK,
                        sqlite_where=_RECHECK)
    # A customer's answers newest first; it also serves what the contact_id index did.
    op.create_index("ix_response_contact_answered", "response", ["contact_id", "answered_at", "id"])
    op.drop_index("ix_response_contact_id", table_name="response")


def downgrade() -> None:
    for table in ("delivery", "response"):
        op.drop_index(f"ix_{table}_recheck_of", table_name=table)
        with op.batch_alter_table(table, recreate="never") as batch_op:
            batch_op.drop_column("recheck_of")
    with op.batch_alter_table("queue", recreate="never") as batch_op:
        for column in ("overdue_assignee", "lead_email", "recheck_after_minutes"):
            batch_op.drop_column(column)
    op.drop_index("ix_followup_created_at", table_name="followup")
    op.create_index("ix_response_contact_id", "response", ["contact_id"])
    op.drop_index("ix_response_contact_answered", table_name="response")
    for index in ("ix_followup_unresolved_queue_due", "ix_followup_unresolved_due", "ix_followup_due",
                  "ix_followup_delivery_id"):
        op.drop_index(index, table_name="followup")
    with op.batch_alter_table("activity", recreate="never") as batch_op:
        batch_op.drop_column("detail")
    with op.batch_alter_table("followup", recreate="never") as batch_op:
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("first_reply_at")
        batch_op.drop_column("reply_channel")
        batch_op.drop_column("root_cause")
    op.drop_table("saved_reply")
    op.drop_table("root_cause")
