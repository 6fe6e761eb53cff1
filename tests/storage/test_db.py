"""Pooled PostgreSQL connections that the database dropped are replaced, not handed to a request."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from storage.db import make_engine


def _backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _terminate(url: str, pid: int) -> None:
    admin = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        assert conn.exec_driver_sql("SELECT pg_terminate_backend(%s)", (pid,)).scalar_one()
    admin.dispose()


def test_postgresql_an_idle_connection_is_pinged_and_replaced(pg_server_url: str) -> None:
    engine = make_engine(pg_server_url, pool_size=1, ping_after_idle=0)
    first = _backend_pid(engine)
    _terminate(pg_server_url, first)
    # The pooled connection is dead; the ping on checkout finds out and the pool connects again.
    assert _backend_pid(engine) != first
    engine.dispose()


def test_postgresql_a_connection_dropped_while_busy_fails_once_then_the_pool_recovers(pg_server_url: str) -> None:
    engine = make_engine(pg_server_url, pool_size=1, ping_after_idle=3600)
    first = _backend_pid(engine)
    _terminate(pg_server_url, first)
    with pytest.raises(sa.exc.OperationalError) as failed, engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    assert failed.value.connection_invalidated
    assert _backend_pid(engine) != first
    engine.dispose()
