"""Stored flow versions: a change makes a new version, and deliveries keep the one they were made from."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import Flow

_CURRENT_IDS = sa.select(Flow.id).where(Flow.current == sa.true()).order_by(Flow.key)

# Which flows are current, in two numbers: the newest version id and how many versions are current. Versions
# are never deleted or changed (only retired), so an import raises the first and a retirement lowers the second;
# equal stamps mean the same current versions. Read beside another statement, it spares a query per event.
FLOWS_STAMP = (
    sa.select(sa.func.coalesce(sa.func.max(Flow.id), 0)).scalar_subquery().label("flows_newest"),
    sa.select(sa.func.count()).where(Flow.current == sa.true()).scalar_subquery().label("flows_current"),
)
FlowsStamp = tuple[int, int]


def current_flows(session: Session) -> list[Flow]:
    return list(session.exec(select(Flow).where(Flow.current == True).order_by(Flow.key)).all())  # noqa: E712


def current_flow(session: Session, key: str) -> Flow | None:
    return session.exec(select(Flow).where(Flow.key == key, Flow.current == True)).first()  # noqa: E712


def current_flow_ids(session: Session) -> list[int]:
    """The ids of the current versions, in key order: versions never change, so callers may cache the rows."""
    return list(session.connection().execute(_CURRENT_IDS).scalars())


def save_flow(session: Session, key: str, name: str, definition: dict[str, Any], enabled: bool) -> tuple[Flow, bool]:
    """Store a definition as the current version; returns (flow, changed). Unchanged input is a no-op."""
    existing = current_flow(session, key)
    if existing is not None and existing.definition == definition and existing.enabled == enabled:
        return existing, False
    version = 1
    latest = session.exec(select(Flow).where(Flow.key == key).order_by(Flow.version.desc())).first()
    if latest is not None:
        version = latest.version + 1
    if existing is not None:
        existing.current = False
        session.add(existing)
        session.flush()
    flow = Flow(key=key, version=version, name=name, definition=definition, enabled=enabled, current=True)
    session.add(flow)
    session.flush()
    return flow, True


def retire_flow(session: Session, key: str) -> bool:
    existing = current_flow(session, key)
    if existing is None:
        return False
    existing.current = False
    session.add(existing)
    session.flush()
    return True


def flows_by_id(session: Session, ids: set[int]) -> dict[int, Flow]:
    """Flow versions for a batch of deliveries, in one query; the caller keeps them while it works."""
    return {flow.id: flow for flow in session.exec(select(Flow).where(col(Flow.id).in_(ids))).all() if flow.id}


def flow_versions(session: Session, key: str) -> list[Flow]:
    """Every version of a flow, the newest first."""
    return list(session.exec(select(Flow).where(Flow.key == key).order_by(col(Flow.version).desc())).all())


def flow_version(session: Session, key: str, version: int) -> Flow | None:
    return session.exec(select(Flow).where(Flow.key == key, Flow.version == version)).first()


def previous_version(session: Session, key: str, version: int) -> Flow | None:
    """The version saved just before `version`, if any."""
    return session.exec(
        select(Flow).where(Flow.key == key, Flow.version < version).order_by(col(Flow.version).desc())
    ).first()
