"""Importing, exporting, editing and rolling back flows, shared by the CLI, the API and the web app.

Every change is a new version (storage.flow_versions): editing, enabling, disabling and rolling back all save
a definition as the current version, so the history is complete and any version can be brought back.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sqlmodel import Session

from bot.audit import SYSTEM, record
from bot.errors import NotFound
from channels.registry import CHANNEL_NAMES
from flows.loader import FlowError, Problem, dump_flow, load_flow
from flows.schema import FlowDefinition
from storage.flow_versions import (
    current_flow,
    current_flows,
    flow_version,
    flow_versions,
    previous_version,
    retire_flow,
    save_flow,
)
from storage.models import Flow


@dataclass(frozen=True)
class Imported:
    key: str
    version: int
    changed: bool


@dataclass(frozen=True)
class DiffLine:
    """One line of a unified diff: `kind` is added, removed, hunk or context."""

    kind: str
    text: str


def store_definitions(session: Session, definitions: list[FlowDefinition], *, actor: str = SYSTEM) -> list[Imported]:
    """Save every definition in the caller's transaction: all of them or, on error, none. A new version is audited
    as `actor`'s."""
    imported = []
    for definition in definitions:
        flow, changed = save_flow(session, definition.key, definition.name, stored_form(definition), definition.enabled)
        imported.append(Imported(flow.key, flow.version, changed))
        if changed:
            record(session, actor, "flow", flow.key, "saved", version=flow.version, enabled=flow.enabled)
    return imported


def retire(session: Session, key: str, *, actor: str = SYSTEM) -> bool:
    """The flow stops matching events; its versions stay for the deliveries made from them."""
    if not retire_flow(session, key):
        return False
    record(session, actor, "flow", key, "deleted")
    return True


def stored_form(definition: FlowDefinition) -> dict:
    return definition.model_dump(mode="json")


def definition_of(flow: Flow) -> FlowDefinition:
    return FlowDefinition.model_validate(flow.definition)


def flow_yaml(flow: Flow) -> str:
    return dump_flow(definition_of(flow))


def export_yaml(session: Session) -> dict[str, str]:
    """File name -> YAML text of every current flow."""
    return {f"{flow.key}.yaml": flow_yaml(flow) for flow in current_flows(session)}


def parse_flow_text(text: str, key: str | None = None) -> FlowDefinition:
    """The flow an author typed; FlowError with every problem (line, field, reason). Editing flow `key`, the
    text must keep that key: a different one would be a new flow, made from "New flow" instead."""
    source = f"{key or 'new'}.yaml"
    definition = load_flow(text, source, CHANNEL_NAMES)
    if key is not None and definition.key != key:
        line = next((n for n, row in enumerate(text.splitlines(), 1) if row.startswith("key:")), None)
        raise FlowError([Problem(source, "key", line, f"must stay {key!r}; to make another flow use New flow")])
    return definition


def save_flow_text(session: Session, text: str, key: str | None = None, *, new: bool = False,
                   actor: str = SYSTEM) -> Imported:
    """Save typed YAML as the flow's new current version. `new` refuses a key that is taken, so creating a
    flow never overwrites one by accident."""
    definition = parse_flow_text(text, key)
    if new and current_flow(session, definition.key) is not None:
        line = next((n for n, row in enumerate(text.splitlines(), 1) if row.startswith("key:")), None)
        raise FlowError([Problem("new.yaml", "key", line,
                                 f"{definition.key!r} is the key of an existing flow; choose another")])
    [imported] = store_definitions(session, [definition], actor=actor)
    return imported


def _current(session: Session, key: str) -> Flow:
    flow = current_flow(session, key)
    if flow is None:
        raise NotFound("flow", key)
    return flow


def set_enabled(session: Session, key: str, enabled: bool, *, actor: str = SYSTEM) -> Imported:
    """Enable or disable a flow: a new version, identical but for `enabled`."""
    definition = definition_of(_current(session, key)).model_copy(update={"enabled": enabled})
    [imported] = store_definitions(session, [definition], actor=actor)
    return imported


def list_versions(session: Session, key: str) -> list[Flow]:
    """A flow's versions, the newest first; NotFound for a flow that never existed."""
    found = flow_versions(session, key)
    if not found:
        raise NotFound("flow", key)
    return found


def roll_back(session: Session, key: str, version: int, *, actor: str = SYSTEM) -> Imported:
    """Bring an old version back by saving it as a new current version: the history keeps everything."""
    old = flow_version(session, key, version)
    if old is None:
        raise NotFound(f"version of flow {key}", version)
    flow, changed = save_flow(session, key, old.name, old.definition, old.enabled)
    if changed:
        record(session, actor, "flow", key, "rolled back", version=flow.version, to_version=version)
    return Imported(flow.key, flow.version, changed)


def version_diff(session: Session, key: str, version: int) -> list[DiffLine]:
    """What `version` changed from the one before it (everything, for the first), as a unified diff of YAML."""
    new = flow_version(session, key, version)
    if new is None:
        raise NotFound(f"version of flow {key}", version)
    old = previous_version(session, key, version)
    before = flow_yaml(old).splitlines() if old is not None else []
    label = f"version {old.version}" if old is not None else "nothing"
    lines = difflib.unified_diff(before, flow_yaml(new).splitlines(), label, f"version {version}", lineterm="")
    return [DiffLine(_kind(line), line) for line in lines]


def _kind(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "header"
    if line.startswith("@@"):
        return "hunk"
    return {"+": "added", "-": "removed"}.get(line[:1], "context")
