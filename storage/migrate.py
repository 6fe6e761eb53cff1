"""Schema upgrades through Alembic, driven from the CLI and the tests."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.db import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaNotReady(Exception):
    """The database lacks the tables this release needs; `touchpoint db upgrade` is the fix."""


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Creates the folder of a SQLite file too: SQLite creates the file, not the folders above it."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)


@cache
def _scripts() -> ScriptDirectory:
    """Read once per process: the migrations of a running release do not change."""
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


@cache
def _known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _scripts().walk_revisions())


def current_head() -> str:
    return _scripts().get_current_head() or ""


def current_revision(database_url: str) -> str | None:
    """None when the database has no tables of ours yet."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def ensure_schema(database_url: str) -> None:
    """The embedded default, SQLite, upgrades itself as `touchpoint run` does. Any other database changes schema
    only on purpose (`touchpoint db upgrade`, a deploy's release step), so finding it behind is an error.
    A revision this release does not know comes from a newer release: its schema serves the older code during
    a rolling deploy, so it is let through."""
    if sa.make_url(database_url).get_backend_name() == "sqlite":
        upgrade(database_url)
        return
    current, head = current_revision(database_url), current_head()
    if current is None:
        raise SchemaNotReady("the database has no tables yet")
    if current != head and current in _known_revisions():
        raise SchemaNotReady(f"the database is at revision {current}; this release needs {head}")


def schema_problem(engine: sa.Engine) -> str | None:
    """Why this release cannot serve from the database, or None. A revision newer than this release's serves it
    (as in `ensure_schema`): during a rolling deploy the old processes must stay in service."""
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    head = current_head()
    if current is None:
        return "the database has no tables yet; run `touchpoint db upgrade`"
    if current != head and current in _known_revisions():
        return f"the database is at revision {current}; this release needs {head} (run `touchpoint db upgrade`)"
    return None
