"""Query and path parameters, held to the same rule as bodies: a wrong one is a 422 that names it."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.api.schemas import MAX_ID
from bot.http_json import invalid_parameter
from storage.models import Flow

# The converter for ids in paths: one past any id the database can hold is "no such id", a 404 like any other.
ID = f"int(min=1, max={MAX_ID})"


def known_flow(session: Session, key: str | None) -> str | None:
    """A flow filter must name a flow that exists or existed (retired flows keep their answers)."""
    if key is not None and session.exec(select(Flow.id).where(Flow.key == key).limit(1)).first() is None:
        raise invalid_parameter("flow", "no such flow")
    return key
