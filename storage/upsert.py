"""INSERT ... ON CONFLICT, which both backends speak with the same API but different classes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_or_merge(connection: sa.Connection, table: Any) -> Any:
    return INSERTS[connection.dialect.name](table)


class InsertIgnoring:
    """`INSERT ... ON CONFLICT DO NOTHING RETURNING`, built once per backend.

    Hot paths run it with their values as parameters: a statement object that never changes is compiled once
    and found in SQLAlchemy's cache at once, where `.values(...)` per call costs more than the round trip.
    """

    def __init__(self, table: sa.Table, conflict: list[str], returning: list[sa.ColumnElement[Any]]) -> None:
        self._statements = {
            name: insert(table).on_conflict_do_nothing(index_elements=conflict).returning(*returning)
            for name, insert in INSERTS.items()
        }

    def run(self, session: Session, values: dict[str, Any]) -> sa.Row[Any] | None:
        """The returned row, or None when the row was there already."""
        connection = session.connection()
        return connection.execute(self._statements[connection.dialect.name], values).first()
