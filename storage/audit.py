"""The audit log and the settings admins keep in the database."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from storage.models import AuditEntry, Setting
from storage.types import utcnow

MAX_ID = 2**31 - 1


def add_entry(session: Session, actor: str, kind: str, object_key: str, action: str,
              detail: dict[str, Any] | None = None) -> AuditEntry:
    """In the caller's transaction: the entry commits or rolls back with the change it records."""
    entry = AuditEntry(actor=actor[:320], kind=kind, object_key=object_key[:255], action=action,
                       detail=detail or {})
    session.add(entry)
    return entry


def entries(session: Session, kind: str | None = None, before: int | None = None, limit: int = 50) -> list[AuditEntry]:
    """Newest first, `limit` of them older than the entry `before` (keyset pages: cheap however long the log)."""
    query = select(AuditEntry)
    if kind:
        query = query.where(AuditEntry.kind == kind)
    if before is not None and before <= MAX_ID:  # past any id: from the newest
        query = query.where(col(AuditEntry.id) < before)
    return list(session.exec(query.order_by(col(AuditEntry.id).desc()).limit(limit)))


def setting_value(session: Session, key: str) -> Any:
    found = session.get(Setting, key)
    return found.value if found is not None else None


def put_setting(session: Session, key: str, value: Any, by: str) -> Any:
    """Store the value (None clears it); returns the value it replaced."""
    found = session.get(Setting, key)
    before = found.value if found is not None else None
    if found is None:
        found = Setting(key=key)
    found.value, found.updated_at, found.updated_by = value, utcnow(), by[:320]
    session.add(found)
    session.flush()
    return before
