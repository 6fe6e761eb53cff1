"""API keys: random, shown once, stored as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlmodel import Session, select

from storage.models import ApiKey
from storage.types import utcnow

PREFIX = "tp_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, name: str) -> str:
    key = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, key_hash=_digest(key)))
    session.flush()
    return key


def verify_api_key(session: Session, key: str) -> ApiKey | None:
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == _digest(key), ApiKey.revoked_at.is_(None))).first()
    now = utcnow()
    # At most one write a minute per key: every request of a busy backend would otherwise queue on this row.
    if row is not None and (row.last_used_at is None or row.last_used_at < now - LAST_USED_RESOLUTION):
        row.last_used_at = now
        session.add(row)
    return row
