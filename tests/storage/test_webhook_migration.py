"""Revision 0012 (outbound webhooks) goes down and up again on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from storage.db import make_engine
from storage.migrate import alembic_config, upgrade
from tests.conftest import empty_pg_database

TABLES = {"webhook", "webhook_message", "webhook_attempt"}


@contextmanager
def fresh(database_url: str, tmp_path: Path) -> Iterator[str]:
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        with empty_pg_database() as url:
            yield url


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    return names


def test_the_webhook_tables_come_and_go_with_their_revision(database_url: str, tmp_path: Path) -> None:
    with fresh(database_url, tmp_path) as url:
        upgrade(url, "0012")
        assert _tables(url) >= TABLES
        command.downgrade(alembic_config(url), "0011")
        assert not TABLES & _tables(url)
        upgrade(url, "0012")
        assert _tables(url) >= TABLES
