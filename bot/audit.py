"""The audit log: who changed which flow, queue, user, API key, webhook, consent or setting, and when.

The services that make those changes record them here, in the transaction of the change, so the API, the pages
and the CLI audit alike. An actor is a signed-in user's email, `api key <name> (#id)`, `cli` or `system` (the
worker). A detail names what changed, never a secret, a password or a customer's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from storage.audit import add_entry, entries
from storage.models import AuditEntry

KINDS = ("flow", "queue", "user", "api_key", "webhook", "consent", "contact", "settings")
CLI, SYSTEM = "cli", "system"
PAGE_SIZE = 50


def api_key_actor(name: str, key_id: int) -> str:
    return f"api key {name} (#{key_id})"


def record(session: Session, actor: str, kind: str, object_key: object, action: str, **detail: Any) -> None:
    assert kind in KINDS, kind
    add_entry(session, actor, kind, str(object_key), action, detail)


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_before: int | None  # the cursor of the next (older) page, None on the last one


def audit_page(session: Session, kind: str | None = None, before: int | None = None,
               limit: int = PAGE_SIZE) -> AuditPage:
    """A page of the log, newest first; one row more is read to know whether an older page exists."""
    rows = entries(session, kind, before, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(rows, rows[-1].id if more and rows else None)
