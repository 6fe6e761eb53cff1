"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel

import storage.models  # noqa: F401
from storage.db import make_engine
from storage.metrics import Filters, metric_totals
from storage.migrate import current_head, upgrade


def test_upgraded_database_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, SQLModel.metadata)
        revision = context.get_current_revision()
    engine.dispose()
    assert differences == []
    assert revision == current_head()


def test_upgrade_is_idempotent(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert {"contact", "delivery", "message", "response", "flow", "event", "apikey"} <= tables


def test_upgrade_from_the_first_release_keeps_its_answers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0001")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO contact (external_id, attributes, created_at, updated_at) "
            "VALUES ('c', '{}', '2026-01-01', '2026-01-01')"
        )
        conn.exec_driver_sql(
            "INSERT INTO flow (key, version, name, definition, enabled, current, created_at) "
            "VALUES ('f', 1, 'f', '{}', 1, 1, '2026-01-01')"
        )
        conn.exec_driver_sql(
            "INSERT INTO event (type, contact_id, properties, idempotency_key, occurred_at, received_at) "
            "VALUES ('t', 1, '{}', 'k', '2026-01-01', '2026-01-01')"
        )
        conn.exec_driver_sql(
            "INSERT INTO delivery (event_id, flow_id, flow_key, contact_id, channel, channel_plan, status, due_at, "
            "attempts, token, conversation, reprompts, sent_at, created_at, updated_at) "
            "VALUES (1, 1, 'f', 1, 'sms', '[]', 'completed', '2026-01-01', 1, 't', 'closed', 0, "
            "'2026-01-01 10:00:00.000000', '2026-01-01', '2026-01-01')"
        )
        conn.exec_driver_sql(
            "INSERT INTO response (delivery_id, flow_key, channel, contact_id, question, score, band, themes, "
            "answered_at, updated_at) VALUES (1, 'f', 'sms', 1, 'nps', 9, 'promoter', '[]', '2026-01-01', '2026-01-01')"
        )
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT score, band, mismatch FROM response").one()
    with Session(engine) as session:
        totals = metric_totals(session, Filters())
    engine.dispose()
    assert tuple(row) == (9, "promoter", 0)
    assert (totals.sent, totals.responses, totals.nps_promoters) == (1, 1, 1)
