"""Importing and exporting flows, shared by the CLI and the API."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from bot.audit import SYSTEM, record
from flows.loader import dump_flow
from flows.schema import FlowDefinition
from storage.flow_versions import current_flows, retire_flow, save_flow
from storage.models import Flow


@dataclass(frozen=True)
class Imported:
    key: str
    version: int
    changed: bool


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


def export_yaml(session: Session) -> dict[str, str]:
    """File name -> YAML text of every current flow."""
    return {f"{flow.key}.yaml": dump_flow(definition_of(flow)) for flow in current_flows(session)}
