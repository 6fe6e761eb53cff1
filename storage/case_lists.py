"""The short lists admins keep for casework: root causes to pick from when resolving, and saved replies."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select

from storage.models import RootCause, SavedReply
from storage.types import utcnow


def list_root_causes(session: Session) -> list[RootCause]:
    return list(session.exec(select(RootCause).order_by(sa.func.lower(RootCause.name), RootCause.id)).all())


def root_cause_named(session: Session, name: str) -> RootCause | None:
    """The list's entry with this name, whatever its letter case."""
    return session.exec(select(RootCause).where(sa.func.lower(RootCause.name) == name.lower())).first()


def add_root_cause(session: Session, name: str) -> RootCause | None:
    """The new entry, or None when one of that name (in any letter case) is on the list already."""
    if root_cause_named(session, name) is not None:
        return None
    cause = RootCause(name=name)
    try:
        with session.begin_nested():
            session.add(cause)
    except sa.exc.IntegrityError:
        return None
    return cause


def remove_root_cause(session: Session, name: str) -> bool:
    cause = root_cause_named(session, name)
    if cause is None:
        return False
    session.delete(cause)
    session.flush()
    return True


def list_saved_replies(session: Session) -> list[SavedReply]:
    return list(session.exec(select(SavedReply).order_by(sa.func.lower(SavedReply.name), SavedReply.id)).all())


def saved_reply_named(session: Session, name: str) -> SavedReply | None:
    """The saved reply with this name, whatever its letter case."""
    return session.exec(select(SavedReply).where(sa.func.lower(SavedReply.name) == name.lower())).first()


def put_saved_reply(session: Session, name: str, text: str, replace: bool) -> tuple[SavedReply, bool] | None:
    """The saved reply and whether it is new; None when the name is taken and `replace` is False."""
    found = saved_reply_named(session, name)
    if found is not None:
        if not replace:
            return None
        found.text, found.updated_at = text, utcnow()
        session.add(found)
        session.flush()
        return found, False
    reply = SavedReply(name=name, text=text)
    try:
        with session.begin_nested():
            session.add(reply)
    except sa.exc.IntegrityError:
        return None
    return reply, True


def remove_saved_reply(session: Session, name: str) -> str | None:
    """The removed reply's own name, or None when there is none of that name."""
    found = saved_reply_named(session, name)
    if found is None:
        return None
    session.delete(found)
    session.flush()
    return found.name
