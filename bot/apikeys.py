"""API keys for the API, the CLI and the pages: created (the key shown once), listed and revoked, each change in
the audit log. The key check itself reads the database on every request (storage.apikeys.verify_api_key), so a
revocation holds at once in every process."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session

from bot.audit import record
from bot.errors import InvalidValue, NotFound
from flows.inputs import unstorable
from storage.apikeys import MAX_ID, create_api_key, list_api_keys, revoke_api_key, scope_text
from storage.models import ApiKey

NAME_LENGTH = 128


class ApiKeyNotFound(NotFound):
    def __init__(self, key_id: object) -> None:
        super().__init__("API key", key_id)


def check_key_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise InvalidValue("name", "must not be empty")
    if len(name) > NAME_LENGTH or unstorable(name) or any(ch in name for ch in "\r\n\t"):
        raise InvalidValue("name", f"one line of at most {NAME_LENGTH} characters")
    return name


def create_key(session: Session, name: str, scopes: Iterable[str], *, actor: str) -> str:
    """The new key, to show once: only its digest is stored."""
    try:
        stored = scope_text(scopes)
    except ValueError as exc:
        raise InvalidValue("scopes", str(exc)) from None
    key = create_api_key(session, check_key_name(name), stored.split())
    record(session, actor, "api_key", name.strip(), "created", scopes=stored.split())
    return key


def keys(session: Session) -> list[ApiKey]:
    return list_api_keys(session)


def revoke_key(session: Session, key: ApiKey | int, *, actor: str) -> tuple[ApiKey, datetime, bool]:
    """Revoke (again: a no-op, not audited twice); returns the key, when it was revoked and whether it already was."""
    if isinstance(key, int):
        found = session.get(ApiKey, key) if 0 < key <= MAX_ID else None
        if found is None:
            raise ApiKeyNotFound(key)
        key = found
    already = key.revoked_at is not None
    revoked_at = revoke_api_key(session, key)
    if not already:
        record(session, actor, "api_key", f"{key.name} (#{key.id})", "revoked")
    return key, revoked_at, already
