"""API keys: random, shown once, stored as a SHA-256 digest; revoked, never deleted. Each key holds scopes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from storage.db import is_sqlite
from storage.models import ApiKey
from storage.types import utcnow

PREFIX = "tp_"
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_ID = 2**31 - 1

# What a key may do. `admin` implies every other scope; the others are independent of each other.
EVENTS_WRITE, READ, CASES, ADMIN = "events:write", "read", "cases", "admin"
SCOPES = (EVENTS_WRITE, READ, CASES, ADMIN)

_KEYS = ApiKey.__table__  # type: ignore[attr-defined]
_LOOKUP = sa.select(_KEYS.c.id, _KEYS.c.name, _KEYS.c.scopes, _KEYS.c.revoked_at, _KEYS.c.last_used_at).where(
    _KEYS.c.key_hash == sa.bindparam("key_hash"))
_TOUCH = _KEYS.update().where(_KEYS.c.id == sa.bindparam("key_id")).values(last_used_at=sa.bindparam("now"))


@dataclass(frozen=True)
class KeyHolder:
    id: int
    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or ADMIN in self.scopes


class UnknownScope(ValueError):
    def __init__(self, scope: str) -> None:
        super().__init__(f"unknown scope {scope!r}; one of {', '.join(SCOPES)}")


def scope_text(scopes: Iterable[str]) -> str:
    """Scopes as stored: space-separated, each once, in the order of SCOPES."""
    wanted = set(scopes)
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise UnknownScope(unknown[0])
    if not wanted:
        raise ValueError("a key needs at least one scope")
    return " ".join(scope for scope in SCOPES if scope in wanted)


def scope_list(text: str) -> list[str]:
    return text.split()


class AmbiguousKeyName(Exception):
    """Several live keys share the name: the id must be given."""


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, name: str, scopes: Iterable[str] = (ADMIN,)) -> str:
    """Full access (admin) unless told otherwise, as keys had before scopes existed."""
    stored = scope_text(scopes)
    key = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, key_hash=_digest(key), scopes=stored))
    session.flush()
    return key


def verify_api_key(engine: sa.Engine, key: str) -> KeyHolder | None:
    """The key's holder, or None for an unknown or revoked key.

    Asked on every request, so a revocation holds at once in every process: one SELECT by the unique digest,
    outside a transaction on PostgreSQL (no BEGIN/COMMIT round trips), and `last_used_at` written at most once a
    minute per key, since every request of a busy backend would otherwise queue on this row.
    """
    lookup = engine if is_sqlite(engine) else engine.execution_options(isolation_level="AUTOCOMMIT")
    with lookup.begin() as conn:
        row = conn.execute(_LOOKUP, {"key_hash": _digest(key)}).first()
        if row is None or row.revoked_at is not None:
            return None
        now = utcnow()
        if row.last_used_at is None or row.last_used_at < now - LAST_USED_RESOLUTION:
            conn.execute(_TOUCH, {"key_id": row.id, "now": now})
    return KeyHolder(row.id, row.name, frozenset(scope_list(row.scopes)))


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(ApiKey.id)))  # type: ignore[arg-type]


def find_api_key(session: Session, name_or_id: str) -> ApiKey | None:
    """A key by id, or by name when no key has that id; a name shared by several live keys is ambiguous."""
    if name_or_id.isdigit() and int(name_or_id) <= MAX_ID:
        found = session.get(ApiKey, int(name_or_id))
        if found is not None:
            return found
    named = list(session.exec(select(ApiKey).where(ApiKey.name == name_or_id).order_by(ApiKey.id)))
    live = [key for key in named if key.revoked_at is None]
    if len(live) > 1:
        raise AmbiguousKeyName(name_or_id)
    return (live or named or [None])[-1]


def revoke_api_key(session: Session, key: ApiKey) -> datetime:
    """Revoke the key (again: a no-op) and return when it was revoked."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        session.flush()
    return key.revoked_at
