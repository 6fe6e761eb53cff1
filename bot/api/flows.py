"""/api/v1/flows: read, create or update (JSON or YAML), and retire flows."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from pydantic import ValidationError

from bot.api.actor import api_actor
from bot.api.errors import not_found
from bot.api.schemas import FlowList, FlowOut
from bot.flow_admin import definition_of, retire, store_definitions
from bot.http_json import ApiError, check_storable, field_errors, json_data, raw_body
from bot.runtime import runtime
from channels.registry import CHANNEL_NAMES
from flows.loader import FlowError, dump_flow, load_flow
from flows.schema import FlowDefinition
from storage.flow_versions import current_flow, current_flows
from storage.models import Flow


def flow_out(flow: Flow) -> FlowOut:
    return FlowOut(
        key=flow.key,
        version=flow.version,
        name=flow.name,
        enabled=flow.enabled,
        definition=flow.definition,
        yaml=dump_flow(definition_of(flow)),
    )


def list_flows() -> Response:
    with runtime().session() as session:
        items = [flow_out(f) for f in current_flows(session)]
    return jsonify(FlowList(items=items).model_dump(mode="json"))


def get_flow(key: str) -> Response:
    with runtime().session() as session:
        flow = current_flow(session, key)
        if flow is None:
            raise not_found("flow", key)
        return jsonify(flow_out(flow).model_dump(mode="json"))


def _definition_from_request(key: str) -> FlowDefinition:
    if request.mimetype in ("application/yaml", "application/x-yaml", "text/yaml"):
        try:
            definition = load_flow(raw_body().decode("utf-8", errors="replace"), f"{key}.yaml", CHANNEL_NAMES)
            check_storable(definition.model_dump(mode="json"))
            return definition
        except RecursionError:
            raise ApiError(400, "malformed_yaml", "the flow is nested too deeply") from None
        except FlowError as exc:
            details = [
                {"field": p.path or "body", "message": f"line {p.line}: {p.message}" if p.line else p.message}
                for p in exc.problems
            ]
            raise ApiError(422, "invalid", "the flow is not valid", details) from None
    data = json_data()
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "send the flow as a JSON object, or as YAML with a YAML content type")
    data.setdefault("key", key)
    try:
        return FlowDefinition.model_validate(data, context={"channels": CHANNEL_NAMES})
    except ValidationError as exc:
        raise ApiError(422, "invalid", "the flow is not valid", field_errors(exc)) from None


def put_flow(key: str) -> tuple[Response, int]:
    definition = _definition_from_request(key)
    if definition.key != key:
        raise ApiError(
            422,
            "invalid",
            "the flow's key must match the URL",
            [{"field": "key", "message": f"expected {key!r}"}],
        )
    with runtime().session() as session:
        [imported] = store_definitions(session, [definition], actor=api_actor())
        flow = current_flow(session, key)
        assert flow is not None
        body = flow_out(flow).model_dump(mode="json")
    return jsonify(body), 201 if imported.version == 1 and imported.changed else 200


def delete_flow(key: str) -> tuple[str, int]:
    with runtime().session() as session:
        if not retire(session, key, actor=api_actor()):
            raise not_found("flow", key)
    return "", 204


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/flows", "list_flows", list_flows, methods=["GET"])
    bp.add_url_rule("/flows/<key>", "get_flow", get_flow, methods=["GET"])
    bp.add_url_rule("/flows/<key>", "put_flow", put_flow, methods=["PUT"])
    bp.add_url_rule("/flows/<key>", "delete_flow", delete_flow, methods=["DELETE"])
