"""theme tallies: scored answers per day, group and theme of the comment, filled from the answers stored

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_KEYS = "day, flow_key, channel, question, theme, band"


def _fill() -> str:
    """Each answer once per distinct theme, as storage.tallies counts it; "did we fix it?" answers left out."""
    if op.get_bind().dialect.name == "postgresql":
        day, each = "CAST(r.answered_at AS date)", "jsonb_array_elements_text(r.themes)"
    else:
        day, each = "date(r.answered_at)", "json_each(r.themes)"
    return (
        f"INSERT INTO themetally ({_KEYS}, shard, answers, scored, score_sum, score_sq_sum) "
        f"SELECT day, flow_key, channel, question, theme, band, 0, count(*), count(score), coalesce(sum(score), 0), "
        f"coalesce(sum(score * score), 0) FROM (SELECT DISTINCT r.id, {day} AS day, r.flow_key, r.channel, "
        f"r.question, t.value AS theme, coalesce(r.band, '') AS band, r.score FROM response r, {each} t "
        f"WHERE r.recheck_of IS NULL AND NOT r.is_test) a GROUP BY {_KEYS}"
    )


def upgrade() -> None:
    op.create_table(
        "themetally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("flow_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("question", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("theme", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("band", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Integer(), nullable=False),
        sa.Column("score_sq_sum", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "flow_key", "channel", "question", "theme", "band", "shard"),
    )
    op.execute(_fill())


def downgrade() -> None:
    op.drop_table("themetally")
