"""Theme proposals: what the worker found in comments no theme covers, and what admins decided."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import Response, ThemeProposal
from storage.types import utcnow

PROPOSED, ACCEPTED, REJECTED, MERGED = "proposed", "accepted", "rejected", "merged"


def uncovered_comments(session: Session, limit: int) -> list[tuple[int, str]]:
    """The newest `limit` English comments (oldest first) that no theme covers."""
    english = sa.or_(col(Response.language).is_(None), col(Response.language) == "en")
    query = (select(Response.id, Response.comment, Response.themes)
             .where(col(Response.comment).is_not(None), english)
             .order_by(col(Response.id).desc()).limit(limit * 4))
    found = [(rid, comment) for rid, comment, themes in session.exec(query).all() if comment and not themes]
    return list(reversed(found[:limit]))


def replace_proposals(session: Session, proposals: list[tuple[list[str], list[int], int]]) -> list[ThemeProposal]:
    """Undecided proposals give way to the new ones; decided ones stay, as the record of what admins chose."""
    session.execute(sa.delete(ThemeProposal).where(col(ThemeProposal.status) == PROPOSED))
    rows = [ThemeProposal(words=words, examples=examples, size=size) for words, examples, size in proposals]
    session.add_all(rows)
    session.flush()
    return rows


def list_proposals(session: Session, status: str | None = None) -> list[ThemeProposal]:
    query = select(ThemeProposal).order_by(col(ThemeProposal.id))
    if status:
        query = query.where(col(ThemeProposal.status) == status)
    return list(session.exec(query).all())


def proposal(session: Session, proposal_id: int) -> ThemeProposal | None:
    return session.get(ThemeProposal, proposal_id)


def decide(session: Session, row: ThemeProposal, status: str, **changes: object) -> ThemeProposal:
    row.status = status
    row.decided_at = utcnow()
    for name, value in changes.items():
        setattr(row, name, value)
    session.add(row)
    session.flush()
    return row


def accepted_themes(connection: sa.Connection) -> dict[str, list[str]]:
    """Accepted proposals as taxonomy entries, oldest first (a later one with the same name adds keywords)."""
    query = (sa.select(ThemeProposal.name, ThemeProposal.keywords)
             .where(col(ThemeProposal.status) == ACCEPTED).order_by(col(ThemeProposal.id)))
    found: dict[str, list[str]] = {}
    for name, keywords in connection.execute(query).all():
        if name:
            found.setdefault(name, []).extend(k for k in keywords or [] if k not in found.get(name, []))
    return found


def comments(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    query = select(Response.id, Response.comment).where(col(Response.id).in_(ids))
    return {rid: comment or "" for rid, comment in session.exec(query).all()}
