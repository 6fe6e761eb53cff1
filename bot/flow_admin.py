"""Importing and exporting flows, shared by the CLI and the API."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from flows.loader import dump_flow
from flows.schema import FlowDefinition
from storage.flow_versions import current_flows, save_flow
from storage.models import Flow


@dataclass(frozen=True)
class Imported:
    key: str
    version: int
    changed: bool


def store_definitions(session: Session, definitions: list[FlowDefinition]) -> list[Imported]:
    """Save every definition in the caller's transaction: all of them or, on error, none."""
    imported = []
    for definition in definitions:
        flow, changed = save_flow(session, definition.key, definition.name, stored_form(definition), definition.enabled)
        imported.append(Imported(flow.key, flow.version, changed))
    return imported


def stored_form(definition: FlowDefinition) -> dict:
    return definition.model_dump(mode="json")


def definition_of(flow: Flow) -> FlowDefinition:
    return FlowDefinition.model_validate(flow.definition)


def export_yaml(session: Session) -> dict[str, str]:
    """File name -> YAML text of every current flow."""
    return {f"{flow.key}.yaml": dump_flow(definition_of(flow)) for flow in current_flows(session)}
