"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel, select

import storage.models  # noqa: F401
from storage.apikeys import create_api_key, verify_api_key
from storage.cases import CaseFilters, list_cases, queue_counts
from storage.contacts import contacts_at_address
from storage.db import make_engine
from storage.deliveries import open_delivery_for
from storage.metrics import Filters, metric_totals
from storage.migrate import alembic_config, current_head, upgrade
from storage.models import Contact
from tests.conftest import empty_pg_database


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


def _seed_0008(url: str) -> None:
    """The previous release's database: contacts with each address, an opt-out and a survey open on SMS."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO contact (external_id, phone, email, slack_user_id, attributes, created_at, updated_at) "
            "VALUES ('ada', '+447911123456', 'ada@example.com', NULL, '{}', '2026-01-01', '2026-01-01'), "
            "('grace', NULL, 'grace@example.com', 'U0GRACE', '{}', '2026-01-01', '2026-01-01'), "
            "('alan', NULL, NULL, NULL, '{}', '2026-01-01', '2026-01-01')"
        )
        conn.exec_driver_sql(
            "INSERT INTO channelconsent (contact_id, channel, opted_out_at, source, updated_at) "
            "VALUES (2, 'email', '2026-01-02', 'email link', '2026-01-02')"
        )
        conn.exec_driver_sql(
            "INSERT INTO flow (key, version, name, definition, enabled, current, created_at) "
            "VALUES ('f', 1, 'f', '{}', true, true, '2026-01-01')"
        )
        conn.exec_driver_sql(
            "INSERT INTO event (type, contact_id, properties, idempotency_key, occurred_at, received_at) "
            "VALUES ('t', 1, '{}', 'k', '2026-01-01', '2026-01-01')"
        )
        conn.exec_driver_sql(
            "INSERT INTO delivery (event_id, flow_id, flow_key, contact_id, channel, channel_plan, status, due_at, "
            "attempts, token, conversation, reprompts, sent_at, created_at, updated_at) "
            "VALUES (1, 1, 'f', 1, 'sms', '[]', 'sent', '2026-01-01', 1, 't', 'awaiting_score', 0, "
            "'2026-01-01 10:00:00', '2026-01-01', '2026-01-01')"
        )
    engine.dispose()


@contextmanager
def empty_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database of the same kind without tables."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'old.db'}"
    else:
        with empty_pg_database() as url:
            yield url


def test_upgrade_from_the_previous_release_keeps_addresses_opt_outs_and_open_surveys(
    database_url: str, tmp_path: Path
) -> None:
    with empty_database(database_url, tmp_path) as old:
        upgrade(old, "0008")
        _seed_0008(old)
        upgrade(old)
        engine = make_engine(old)
        with Session(engine) as session:
            sms = contacts_at_address(session, "sms", "phone", "+447911123456")
            email = contacts_at_address(session, "email", "email", "grace@example.com")
            addresses = {c.external_id: c.addresses for c in session.exec(select(Contact)).all()}
            survey = open_delivery_for(session, [c.id for c in sms[0] if c.id is not None], "sms")
        engine.dispose()
    assert addresses == {
        "ada": {"phone": "+447911123456", "email": "ada@example.com"},
        "grace": {"email": "grace@example.com", "slack_user_id": "U0GRACE"},
        "alan": {},
    }
    assert ([c.external_id for c in sms[0]], sms[1]) == (["ada"], False)
    assert ([c.external_id for c in email[0]], email[1]) == (["grace"], True)  # still opted out of email
    assert survey is not None and survey[0].token == "t"  # a reply by SMS still finds its survey


def test_downgrade_puts_the_addresses_back_in_their_columns(database_url: str, tmp_path: Path) -> None:
    with empty_database(database_url, tmp_path) as old:
        upgrade(old, "0008")
        _seed_0008(old)
        upgrade(old)
        command.downgrade(alembic_config(old), "0008")
        engine = make_engine(old)
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT external_id, phone, email, slack_user_id FROM contact ORDER BY id").all()
        engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("ada", "+447911123456", "ada@example.com", None),
        ("grace", None, "grace@example.com", "U0GRACE"),
        ("alan", None, None, None),
    ]


def test_keys_made_before_scopes_keep_full_access(database_url: str, tmp_path: Path) -> None:
    with empty_database(database_url, tmp_path) as old:
        upgrade(old, "0009")
        engine = make_engine(old)
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO apikey (name, key_hash, created_at) "
                                 f"VALUES ('backend', '{hashlib.sha256(b'tp_old-key').hexdigest()}', '2026-01-01')")
        engine.dispose()
        upgrade(old)
        engine = make_engine(old)
        holder = verify_api_key(engine, "tp_old-key")
        with Session(engine) as session:
            new = create_api_key(session, "reader", ["read"])
            session.commit()
        command.downgrade(alembic_config(old), "0009")
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("apikey")}
            names = conn.exec_driver_sql("SELECT name FROM apikey ORDER BY id").scalars().all()
        engine.dispose()
    assert holder is not None and holder.name == "backend" and holder.scopes == {"admin"}
    assert holder.allows("cases") and new.startswith("tp_")
    assert "scopes" not in columns and names == ["backend", "reader"]


def test_users_of_the_previous_release_must_change_their_printed_password_and_keep_it_after_a_downgrade(
    database_url: str, tmp_path: Path
) -> None:
    with empty_database(database_url, tmp_path) as old:
        upgrade(old, "0009")
        engine = make_engine(old)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO \"user\" (email, role, password_hash, created_at) "
                "VALUES ('agent@example.com', 'agent', 'scrypt:32768:8:1$salt$hash', '2026-01-01')"
            )
        engine.dispose()
        upgrade(old, "0014")
        engine = make_engine(old)
        with engine.connect() as conn:  # the columns of 0014, not the model's (later revisions add more)
            email, must_change, epoch, disabled = conn.exec_driver_sql(
                "SELECT email, must_change_password, session_epoch, disabled_at FROM \"user\"").one()
            state = (email, bool(must_change), epoch, disabled)
        engine.dispose()
        command.downgrade(alembic_config(old), "0009")
        engine = make_engine(old)
        with engine.connect() as conn:
            kept = conn.exec_driver_sql("SELECT email, password_hash FROM \"user\"").one()
            tables = set(sa.inspect(conn).get_table_names())
        engine.dispose()
    assert state == ("agent@example.com", True, 0, None)
    assert tuple(kept) == ("agent@example.com", "scrypt:32768:8:1$salt$hash")
    assert "sign_in_failure" not in tables


def _seed_case_0009(url: str) -> None:
    """A case of the previous release: an answer that opened it in a queue, and its trail."""
    engine = make_engine(url)
    with engine.begin() as conn:
        for statement in (
            "INSERT INTO contact (external_id, name, attributes, created_at, updated_at) "
            "VALUES ('ada', 'Ada', '{}', '2026-01-01', '2026-01-01')",
            "INSERT INTO flow (key, version, name, definition, enabled, current, created_at) "
            "VALUES ('f', 1, 'f', '{}', true, true, '2026-01-01')",
            "INSERT INTO event (type, contact_id, properties, idempotency_key, occurred_at, received_at) "
            "VALUES ('t', 1, '{}', 'k', '2026-01-01', '2026-01-01')",
            "INSERT INTO delivery (event_id, flow_id, flow_key, contact_id, channel, channel_plan, status, due_at, "
            "attempts, token, conversation, reprompts, sent_at, created_at, updated_at) VALUES (1, 1, 'f', 1, 'sms', "
            "'[]', 'completed', '2026-01-01', 1, 't', 'closed', 0, '2026-01-01 10:00:00', '2026-01-01', '2026-01-01')",
            "INSERT INTO response (delivery_id, flow_key, channel, contact_id, question, score, band, themes, "
            "mismatch, answered_at, updated_at) VALUES (1, 'f', 'sms', 1, 'nps', 2, 'detractor', '[\"price\"]', "
            "false, '2026-01-01 10:05:00', '2026-01-01 10:05:00')",
            "INSERT INTO queue (key, name, sla_minutes, created_at) VALUES ('recovery', 'Recovery', 240, '2026-01-01')",
            "INSERT INTO followup (response_id, delivery_id, queue_id, contact_id, channel, status, priority, "
            "due_at, created_at, updated_at) VALUES (1, 1, 1, 1, 'sms', 'open', 'high', '2026-01-01 14:05:00', "
            "'2026-01-01 10:05:00', '2026-01-01 10:05:00')",
            "INSERT INTO activity (followup_id, kind, text, at) VALUES (1, 'opened', 'band detractor', '2026-01-01')",
        ):
            conn.exec_driver_sql(statement)
    engine.dispose()


def test_upgrade_to_casework_keeps_cases_in_the_inbox_and_its_downgrade_keeps_them_too(
    database_url: str, tmp_path: Path
) -> None:
    with empty_database(database_url, tmp_path) as old:
        upgrade(old, "0009")
        _seed_case_0009(old)
        upgrade(old)
        engine = make_engine(old)
        with Session(engine) as session:
            [row] = list_cases(session, CaseFilters(status="unresolved", queue="recovery", theme="price"))
            counts = queue_counts(session, datetime(2026, 1, 1, 12, tzinfo=UTC), timedelta(hours=3))
            hours = Filters(since=datetime(2026, 1, 1, 9, tzinfo=UTC), until=datetime(2026, 1, 1, 12, tzinfo=UTC))
            totals = metric_totals(session, hours)  # a partial day: counted from the rows
        engine.dispose()
        command.downgrade(alembic_config(old), "0009")
        engine = make_engine(old)
        with engine.connect() as conn:
            kept = conn.exec_driver_sql("SELECT status, priority FROM followup").one()
            columns = {c["name"] for c in sa.inspect(conn).get_columns("followup")}
        engine.dispose()
    assert (row.followup.status, row.response.recheck_of, row.customer) == ("open", None, "Ada")
    assert list(counts.values())[0].open == 1 and list(counts.values())[0].due_soon == 1
    assert (totals.sent, totals.responses) == (1, 1)
    assert tuple(kept) == ("open", "high") and "root_cause" not in columns and "escalated_at" not in columns


def _response_indexes(url: str) -> tuple[set[str], int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        names = {index["name"] for index in sa.inspect(conn).get_indexes("response")}
        answers = conn.exec_driver_sql("SELECT count(*) FROM response").scalar_one()
    engine.dispose()
    return names, answers


def test_responses_get_their_flow_in_time_order_index_and_keep_their_rows_both_ways(
        database_url: str, tmp_path: Path) -> None:
    from tests.storage.test_funnel_tally import _seed_0022

    with empty_database(database_url, tmp_path) as old:
        upgrade(old, "0022")
        _seed_0022(old)
        upgrade(old, "0023")
        names, answers = _response_indexes(old)
        assert "ix_response_flow_key" in names and "ix_response_flow_answered" not in names and answers == 3
        upgrade(old)
        names, answers = _response_indexes(old)
        assert "ix_response_flow_answered" in names and "ix_response_flow_key" not in names and answers == 3
        command.downgrade(alembic_config(old), "0023")
        names, answers = _response_indexes(old)
        assert "ix_response_flow_key" in names and "ix_response_flow_answered" not in names and answers == 3
