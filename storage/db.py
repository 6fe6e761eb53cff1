"""Engine and sessions."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from storage import tallies


def make_engine(url: str, *, pool_size: int = 5, ping_after_idle: float = 10.0) -> sa.Engine:
    """An engine tuned per backend: SQLite gets WAL and a busy timeout so web and worker share a file."""
    tallies.install()
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # Statement parameters are names, addresses and comments: never in an exception's text or a log.
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                                  hide_parameters=True)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size * 2, hide_parameters=True)
    sa.event.listen(engine, "handle_error", _without_row_values)
    sa.event.listen(engine, "checkin", _note_idle_since)
    sa.event.listen(engine, "checkout", _ping_if_idle(engine.dialect, ping_after_idle))
    return engine


_QUOTED_VALUE = re.compile(r'(:\s*)"[^"]*"')


def _without_row_values(context: sa.engine.ExceptionContext) -> None:
    """PostgreSQL's error text quotes the row: `DETAIL: Key (email)=(jane@example.com) already exists`, `Failing row
    contains (...)`, `invalid input syntax for type integer: "..."`. Only the first line stays, values masked; the
    driver's `diag` keeps the details for code that needs them."""
    original, wrapped = context.original_exception, context.sqlalchemy_exception
    if not isinstance(original, context.dialect.loaded_dbapi.Error):
        return
    first = _QUOTED_VALUE.sub(r'\1"***"', str(original).split("\n", 1)[0])
    original.args = (first,)
    if wrapped is not None:
        wrapped.args = (f"({type(original).__module__}.{type(original).__name__}) {first}",)


def _note_idle_since(_dbapi_conn: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dialect: sa.Dialect, after: float) -> Any:
    """A connection back in use within `after` seconds is not pinged first: under load that spares a round trip
    per transaction, and after a quiet spell (when a restarted or failed-over database shows up) every connection
    is checked. A connection that breaks in use invalidates the whole pool, so one request per process can fail."""

    def ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < after:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise sa.exc.DisconnectionError("the pooled connection is gone") from exc  # the pool reconnects

    return ping


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy issue BEGIN itself (see _sqlite_begin_immediate).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(conn: sa.Connection) -> None:
    # SQLite has no SELECT ... FOR UPDATE; taking the write lock up front makes a claim atomic
    # and avoids deadlocking upgrades from read to write locks between web and worker threads.
    # A read-only connection (read_session) takes no lock: in WAL mode it reads a snapshot beside the writers.
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("touchpoint_read_only") else "BEGIN IMMEDIATE")


def is_sqlite(engine: sa.Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def read_session(engine: sa.Engine) -> Iterator[Session]:
    """A session for reads alone, however long (a streamed export): on SQLite it holds no write lock, so the
    worker and the web keep writing while it reads; it never commits."""
    with engine.connect() as connection:
        connection = connection.execution_options(touchpoint_read_only=True)
        session = Session(bind=connection)
        try:
            yield session
        finally:
            session.close()
            connection.rollback()


@contextmanager
def session_scope(engine: sa.Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
