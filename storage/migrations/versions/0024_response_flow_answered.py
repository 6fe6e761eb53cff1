"""responses by flow in time order: (flow_key, answered_at, id) replaces the index on flow_key alone

A flow's latest comments (the dashboard's examples and mismatches) walked every answer of the flow and sorted
them; the new index gives them in order, and serves whatever the old one served.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_response_flow_answered", "response", ["flow_key", "answered_at", "id"], unique=False)
    op.drop_index("ix_response_flow_key", table_name="response")


def downgrade() -> None:
    op.create_index("ix_response_flow_key", "response", ["flow_key"], unique=False)
    op.drop_index("ix_response_flow_answered", table_name="response")
