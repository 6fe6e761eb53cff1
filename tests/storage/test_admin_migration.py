"""Revision 0020: the audit log, stored settings and the contact-name index come and go without touching data;
contact search reads indexes, never the whole contact table."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from storage.contact_admin import search_contacts
from storage.db import make_engine
from storage.migrate import alembic_config, upgrade
from tests.storage.test_migrations import empty_database


def test_0020_adds_and_removes_its_tables_and_keeps_contacts(database_url: str, tmp_path: Path) -> None:
    with empty_database(database_url, tmp_path) as old:
        upgrade(old, "0016")
        engine = make_engine(old)
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO contact (external_id, name, attributes, created_at, updated_at) "
                                 "VALUES ('ada', 'Ada', '{}', '2026-01-01', '2026-01-01')")
        engine.dispose()
        upgrade(old)
        engine = make_engine(old)
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO audit_log (at, actor, kind, object_key, action, detail) "
                                 "VALUES ('2026-01-02', 'cli', 'flow', 'f', 'saved', '{}')")
            conn.exec_driver_sql("INSERT INTO setting (key, value, updated_at, updated_by) "
                                 "VALUES ('retain_text_days', '30', '2026-01-02', 'cli')")
            indexes = {index["name"] for index in sa.inspect(conn).get_indexes("contact")}
        engine.dispose()
        assert "ix_contact_name" in indexes
        command.downgrade(alembic_config(old), "0016")
        engine = make_engine(old)
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            names = conn.exec_driver_sql("SELECT name FROM contact").scalars().all()
        engine.dispose()
        assert not {"audit_log", "setting"} & tables and names == ["Ada"]


def test_contact_search_uses_the_indexes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    upgrade(url)
    engine = make_engine(url)
    plans: list[str] = []

    @sa.event.listens_for(engine, "before_cursor_execute", retval=True)
    def explain(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "contact" in statement:
            rows = cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            plans.append(" | ".join(str(row[-1]) for row in rows))
        return statement, parameters

    with Session(engine) as session:
        search_contacts(session, "Ada", [("phone", "+447911123456")])
    engine.dispose()
    assert len(plans) >= 3
    assert all("USING" in plan and "SCAN" not in plan for plan in plans), plans
