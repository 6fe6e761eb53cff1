"""API key scopes: every operation names the scope it needs, a key without it gets 403, admin holds them all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient

from bot.api.scopes import PUBLIC, SCOPE_OF
from bot.cli import main
from bot.runtime import Runtime
from storage.apikeys import ADMIN, SCOPES, create_api_key
from tests.helpers import event, flow_yaml, install_flow


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def new_key(rt: Runtime, name: str, *scopes: str) -> str:
    with rt.session() as session:
        return create_api_key(session, name, scopes)


def api_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, a URL for it) for every API operation; path values name nothing that exists."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        url = re.sub(r"<[^>]+>", "nothing-here", re.sub(r"<int[^>]*>", "999999", rule.rule))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method, url))
    return routes


def test_every_api_route_declares_its_scope(app: Flask) -> None:
    endpoints = {endpoint for endpoint, _, _ in api_routes(app)}
    assert endpoints - PUBLIC - SCOPE_OF.keys() == set(), "add the new endpoint to bot/api/scopes.py"
    assert SCOPE_OF.keys() - endpoints == set(), "bot/api/scopes.py names an endpoint that is gone"
    assert set(SCOPE_OF.values()) <= set(SCOPES)


def test_each_operation_refuses_a_key_without_its_scope_and_lets_one_with_it_through(
    app: Flask, client: FlaskClient, rt: Runtime
) -> None:
    keys = {scope: new_key(rt, scope, scope) for scope in SCOPES}
    others = {scope: new_key(rt, f"all but {scope}", *(s for s in SCOPES if s not in (scope, ADMIN)))
              for scope in SCOPES}
    checked = 0
    for endpoint, method, url in api_routes(app):
        if endpoint in PUBLIC:
            continue
        needed = SCOPE_OF[endpoint]
        refused = client.open(url, method=method, headers=bearer(others[needed]))
        assert refused.status_code == 403, (method, url)
        error = refused.get_json()["error"]
        assert error["code"] == "insufficient_scope" and needed in error["message"], (method, url)
        for key in (keys[needed], keys[ADMIN]):
            allowed = client.open(url, method=method, headers=bearer(key))
            allowed.get_data()  # a streamed body (the CSV exports) is read to its end, as a client would
            assert allowed.status_code not in (401, 403), (method, url, allowed.get_json())
        checked += 1
    assert checked == len(SCOPE_OF)


def test_scopes_act_on_real_requests(client: FlaskClient, rt: Runtime) -> None:
    install_flow(rt, flow_yaml())
    backend = new_key(rt, "backend", "events:write")
    dashboard = new_key(rt, "dashboard", "read")

    assert client.post("/api/v1/events", json=event(), headers=bearer(backend)).status_code == 202
    refused = client.get("/api/v1/responses", headers=bearer(backend))
    assert refused.status_code == 403
    details = refused.get_json()["error"]["details"]
    assert details == [{"field": "scope", "message": "needs read; the key has events:write"}]

    assert client.get("/api/v1/responses", headers=bearer(dashboard)).status_code == 200
    assert client.post("/api/v1/events", json=event("evt-2"), headers=bearer(dashboard)).status_code == 403
    assert client.get("/api/v1/followups", headers=bearer(dashboard)).status_code == 403


def test_a_key_may_revoke_itself_but_not_another_without_admin(client: FlaskClient, rt: Runtime,
                                                               auth: dict[str, str]) -> None:
    reader = new_key(rt, "reader", "read")
    other = new_key(rt, "other", "read")
    ids = {k["name"]: k["id"] for k in client.get("/api/v1/apikeys", headers=auth).get_json()["items"]}

    assert client.delete(f"/api/v1/apikeys/{ids['other']}", headers=bearer(reader)).status_code == 403
    assert client.get("/api/v1/flows", headers=bearer(other)).status_code == 200
    assert client.delete(f"/api/v1/apikeys/{ids['reader']}", headers=bearer(reader)).status_code == 204
    assert client.get("/api/v1/flows", headers=bearer(reader)).status_code == 401


def test_the_api_lists_each_keys_scopes(client: FlaskClient, rt: Runtime, auth: dict[str, str]) -> None:
    new_key(rt, "helpdesk", "cases", "read")
    items = {k["name"]: k["scopes"] for k in client.get("/api/v1/apikeys", headers=auth).get_json()["items"]}
    assert items == {"tests": ["admin"], "helpdesk": ["read", "cases"]}


def test_the_openapi_document_names_each_operations_scope(app: Flask, client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    shapes = {(re.sub(r"<[^>]+>", "{}", rule.rule.removeprefix("/api/v1")), method.lower()): rule.endpoint
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/") for method in rule.methods or ()}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            scope = SCOPE_OF[shapes[(re.sub(r"{[^}]+}", "{}", path), method)]]
            assert operation["x-required-scope"] == scope
            assert operation["security"] == [{"bearer": [scope]}]
            assert "403" in operation["responses"]


@pytest.fixture
def touchpoint(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> Result:
        env = {"TOUCHPOINT_DATABASE_URL": database_url, "TOUCHPOINT_LOG_LEVEL": "WARNING"}
        return CliRunner().invoke(main, list(args), env=env)

    return invoke


def test_the_cli_creates_keys_with_scopes_and_lists_them(touchpoint, client: FlaskClient) -> None:
    made = touchpoint("apikey", "create", "backend", "--scope", "events:write", "--scope", "read")
    assert made.exit_code == 0 and made.stderr.splitlines()[-1] == "scopes: events:write read"
    key = made.stdout.strip()
    everything = touchpoint("apikey", "create", "ops")
    assert everything.stderr.splitlines()[-1] == "scopes: admin"

    assert client.get("/api/v1/responses", headers=bearer(key)).status_code == 200
    assert client.get("/api/v1/followups", headers=bearer(key)).status_code == 403
    assert client.get("/api/v1/followups", headers=bearer(everything.stdout.strip())).status_code == 200

    rows = {line.split()[1]: line for line in touchpoint("apikey", "list").stdout.splitlines()[1:]}
    assert rows["backend"].split()[2:4] == ["events:write", "read"]
    assert rows["ops"].split()[2] == "admin"

    wrong = touchpoint("apikey", "create", "x", "--scope", "write")
    assert wrong.exit_code == 2 and "'write' is not one of" in wrong.output
