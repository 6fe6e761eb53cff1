"""The lists admins keep for casework, shared by the API and the CLI: root causes to resolve cases with, and saved
replies (templates an agent starts a reply from; bot.followups fills one in for a case)."""

from __future__ import annotations

from sqlmodel import Session

from bot.errors import AlreadyExists, InvalidValue, NotFound
from flows.inputs import unstorable
from flows.templates import TemplateProblem, check_reply_template
from storage import case_lists
from storage.models import SavedReply

NAME_LENGTH = 64
REPLY_LENGTH = 1600  # an agent's reply, as the reply endpoint takes it


def check_name(value: str) -> str:
    """A list entry's name as stored: trimmed, 1-64 characters, one line; ValueError saying why not."""
    name = value.strip()
    if not name:
        raise ValueError("must not be empty")
    if len(name) > NAME_LENGTH:
        raise ValueError(f"at most {NAME_LENGTH} characters")
    if any(ch in name for ch in "\r\n\t") or unstorable(name):
        raise ValueError("one line of text, without control characters")
    return name


def root_causes(session: Session) -> list[str]:
    return [cause.name for cause in case_lists.list_root_causes(session)]


def add_root_cause(session: Session, name: str) -> str:
    """A new root cause; a name already on the list (in any letter case) is refused, not doubled."""
    cause = case_lists.add_root_cause(session, name)
    if cause is None:
        raise AlreadyExists("root cause", name)
    return cause.name


def remove_root_cause(session: Session, name: str) -> str:
    """Off the list for new resolutions; cases resolved with it keep it."""
    cause = case_lists.root_cause_named(session, name)
    if cause is None or not case_lists.remove_root_cause(session, cause.name):
        raise NotFound("root cause", repr(name))
    return cause.name


def check_reply_text(value: str) -> str:
    """A saved reply's text as stored: trimmed, 1-1600 characters; ValueError saying why not. Whether its
    placeholders exist is the service's check (`save_reply`)."""
    text = value.strip()
    if not text:
        raise ValueError("must not be empty")
    if len(text) > REPLY_LENGTH:
        raise ValueError(f"at most {REPLY_LENGTH} characters")
    problem = unstorable(text)
    if problem:
        raise ValueError(problem)
    return text


def saved_replies(session: Session) -> list[SavedReply]:
    return case_lists.list_saved_replies(session)


def saved_reply(session: Session, name: str) -> SavedReply:
    found = case_lists.saved_reply_named(session, name)
    if found is None:
        raise NotFound("saved reply", repr(name))
    return found


def save_reply(session: Session, name: str, text: str, replace: bool = False) -> tuple[SavedReply, bool]:
    """Store a saved reply (True: a new one). Its template is checked now, as a flow's are at import: a placeholder
    that names nothing would otherwise reach a customer as an empty gap."""
    try:
        check_reply_template(text)
    except TemplateProblem as problem:
        raise InvalidValue("text", str(problem)) from None
    stored = case_lists.put_saved_reply(session, name, text, replace)
    if stored is None:
        raise AlreadyExists("saved reply", name)
    return stored


def remove_saved_reply(session: Session, name: str) -> str:
    removed = case_lists.remove_saved_reply(session, name)
    if removed is None:
        raise NotFound("saved reply", repr(name))
    return removed
