"""Backups of a SQLite database with SQLite's online backup API: a consistent copy while the service writes.

PostgreSQL has its own tools (pg_dump, pg_restore, or the host's snapshots); copying a SQLite file while the
service runs can catch it between a page and its WAL, which is why these go through the backup API.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa


class NotSqlite(ValueError):
    """The database is not a SQLite file (PostgreSQL is backed up with pg_dump)."""


def sqlite_path(url: str) -> Path:
    """The file of a SQLite URL; NotSqlite for any other database or an in-memory one."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        raise NotSqlite("only a SQLite file database can be backed up this way; use pg_dump for PostgreSQL")
    return Path(parsed.database)


def _copy(source: Path, target: Path) -> int:
    """Copy every page of `source` into `target` in one step; returns the number of pages."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
        return int(dst.execute("PRAGMA page_count").fetchone()[0])


def backup_sqlite(url: str, target: Path) -> int:
    """A consistent copy of the database at `url` in the new file `target` (refused if it exists)."""
    source = sqlite_path(url)
    if not source.exists():
        raise FileNotFoundError(f"{source} does not exist")
    if target.exists():
        raise FileExistsError(f"{target} already exists; choose a new file")
    return _copy(source, target)


def restore_sqlite(url: str, backup: Path) -> int:
    """Replace the database at `url` with the backup's contents (the service must be stopped)."""
    target = sqlite_path(url)
    if not backup.exists():
        raise FileNotFoundError(f"{backup} does not exist")
    with sqlite3.connect(backup) as check:
        if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise ValueError(f"{backup} is not a sound SQLite database")
    return _copy(backup, target)
