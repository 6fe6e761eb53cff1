"""Flows over the API (JSON or YAML, versioned) and the OpenAPI document that describes the API."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from tests.helpers import flow_yaml

YAML = {"Content-Type": "application/yaml"}


def test_put_yaml_creates_then_versions_only_on_change(client: FlaskClient, auth: dict) -> None:
    created = client.put("/api/v1/flows/nps-test", data=flow_yaml(), headers={**auth, **YAML})
    assert created.status_code == 201 and created.get_json()["version"] == 1
    same = client.put("/api/v1/flows/nps-test", data=flow_yaml(), headers={**auth, **YAML})
    assert same.status_code == 200 and same.get_json()["version"] == 1
    changed = client.put("/api/v1/flows/nps-test", data=flow_yaml(delay="2h"), headers={**auth, **YAML})
    assert changed.get_json()["version"] == 2 and changed.get_json()["definition"]["delay"] == "2h"
    shown = client.get("/api/v1/flows/nps-test", headers=auth).get_json()
    assert shown["version"] == 2 and "delay: 2h" in shown["yaml"]


def test_put_json_takes_the_key_from_the_url(client: FlaskClient, auth: dict) -> None:
    body = {"name": "JSON flow", "trigger": {"event": "ticket.solved"}, "channels": ["email"],
            "question": {"kind": "csat", "text": {"en": "How did we do? 1-5"}}}
    response = client.put("/api/v1/flows/json-flow", json=body, headers=auth)
    assert response.status_code == 201
    assert [f["key"] for f in client.get("/api/v1/flows", headers=auth).get_json()["items"]] == ["json-flow"]


def test_invalid_flows_are_422_naming_field_and_line(client: FlaskClient, auth: dict) -> None:
    response = client.put("/api/v1/flows/nps-test", data=flow_yaml(delay="soon"), headers={**auth, **YAML})
    assert response.status_code == 422
    [detail] = response.get_json()["error"]["details"]
    assert detail["field"] == "delay" and detail["message"].startswith("line 5:")
    mismatch = client.put("/api/v1/flows/other-key", data=flow_yaml(), headers={**auth, **YAML})
    assert mismatch.status_code == 422 and mismatch.get_json()["error"]["details"][0]["field"] == "key"
    assert client.get("/api/v1/flows", headers=auth).get_json()["items"] == []


def test_delete_retires_a_flow(client: FlaskClient, auth: dict) -> None:
    client.put("/api/v1/flows/nps-test", data=flow_yaml(), headers={**auth, **YAML})
    assert client.delete("/api/v1/flows/nps-test", headers=auth).status_code == 204
    assert client.get("/api/v1/flows/nps-test", headers=auth).status_code == 404
    assert client.delete("/api/v1/flows/nps-test", headers=auth).status_code == 404


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_openapi_document_is_public_complete_and_resolves(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    routes = {
        (re.sub(r"<[^>]+>", "{}", rule.rule.removeprefix("/api/v1")), method.lower())
        for rule in client.application.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(re.sub(r"{[^}]+}", "{}", path), method) for path, item in spec["paths"].items() for method in item}
    assert routes - documented == set()
    schemas = spec["components"]["schemas"]
    for ref in _refs(spec):
        assert ref.startswith("#/components/schemas/") and ref.split("/")[-1] in schemas, ref
    event_in = schemas["EventIn"]
    assert {"type", "idempotency_key", "contact"} <= set(event_in["required"])
