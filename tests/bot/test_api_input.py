"""Inputs that the database or Python cannot take get a clear 4xx in the API's error shape, never a 500."""

from __future__ import annotations

import base64
import io

import pytest
from flask.testing import FlaskClient

from bot.runtime import Runtime
from channels.registry import CHANNEL_NAMES
from tests.bot.test_api_errors import fields_of, nothing_stored
from tests.helpers import event, flow_yaml, install_flow

SITE = {"key": "web-app", "allowed_origins": ["https://app.example.com"]}
JSON = {"Content-Type": "application/json"}


def raw_event(x: str) -> str:
    """An event body as text, with `x` (not necessarily JSON) as the value of properties.x."""
    return '{"type": "t", "idempotency_key": "k", "contact": {"external_id": "c"}, "properties": {"x": ' + x + "}}"


def error_of(response) -> dict:  # type: ignore[no-untyped-def]
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("get", "/api/v1/responses?contact=%00", "contact"),
        ("get", "/api/v1/responses?flow=a%00b", "flow"),
        ("get", "/api/v1/followups?queue=%00", "queue"),
        ("get", "/api/v1/metrics?flow=%00", "flow"),
        ("get", "/api/v1/sandbox/messages?to=%00", "to"),
        ("get", "/api/v1/flows/a%00", "key"),
        ("get", "/api/v1/queues/a%00", "key"),
        ("get", "/api/v1/sites/a%00", "key"),
        ("delete", "/api/v1/contacts/a%00", "external_id"),
        ("delete", "/api/v1/flows/a%00", "key"),
    ],
)
def test_nul_in_a_url_is_422_naming_the_parameter(client: FlaskClient, auth: dict, method: str, path: str,
                                                   field: str) -> None:
    response = getattr(client, method)(path, headers=auth)
    assert response.status_code == 422
    assert fields_of(response.get_json()) == [field]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"type": "order\u0000delivered"}, "type"),
        ({"contact": {"external_id": "c\u0000"}}, "contact.external_id"),
        ({"contact": {"external_id": "c", "name": "A\u0000da"}}, "contact.name"),
        ({"properties": {"note": "x\u0000"}}, "properties.note"),
        ({"properties": {"tags": ["a", "b\u0000"]}}, "properties.tags.1"),
        ({"properties": {"k\u0000": 1}}, "properties"),
        ({"properties": {"bad": "\ud800"}}, "properties.bad"),
    ],
)
def test_nul_in_a_json_body_is_422_naming_the_field(rt: Runtime, client: FlaskClient, auth: dict, patch: dict,
                                                   field: str) -> None:
    install_flow(rt, flow_yaml())
    response = client.post("/api/v1/events", json={**event(), **patch}, headers=auth)
    assert response.status_code == 422
    assert fields_of(response.get_json()) == [field]
    assert nothing_stored(rt)


def test_nul_in_other_bodies_is_422(client: FlaskClient, auth: dict) -> None:
    response = client.post("/api/v1/sites", json={**SITE, "name": "Web\u0000"}, headers=auth)
    assert (response.status_code, fields_of(response.get_json())) == (422, ["name"])
    response = client.patch("/api/v1/queues/recovery", json={"name": "R\u0000"}, headers=auth)
    assert (response.status_code, fields_of(response.get_json())) == (422, ["name"])
    response = client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": "+1", "text": "9\u0000"},
                           headers=auth)
    assert (response.status_code, fields_of(response.get_json())) == (422, ["text"])


def test_nul_in_a_yaml_flow_is_422(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    text = flow_yaml().replace("name: Test flow nps-test", 'name: "Test\\0flow"')
    response = client.put("/api/v1/flows/nps-test", data=text,
                          headers={**auth, "Content-Type": "application/yaml"})
    assert response.status_code == 422
    assert fields_of(response.get_json()) == ["name"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/deliveries/99999999999"),
        ("get", "/api/v1/followups/99999999999"),
        ("post", "/api/v1/followups/99999999999/notes"),
        ("post", "/api/v1/followups/99999999999/claim"),
        ("post", "/api/v1/followups/99999999999/reply"),
        ("post", "/api/v1/followups/99999999999/resolve"),
        ("get", "/api/v1/deliveries/2147483648"),
        ("patch", "/api/v1/webhooks/8053583803"),  # another method's rule on the same path must not make it 405
        ("delete", "/api/v1/webhooks/8053583803"),
    ],
)
def test_an_id_too_large_to_exist_is_404(client: FlaskClient, auth: dict, method: str, path: str) -> None:
    response = getattr(client, method)(path, json={"text": "hello"}, headers=auth)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_json_nested_too_deep_is_400(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    deep = "[" * 1000 + "]" * 1000
    response = client.post("/api/v1/events", data=raw_event(deep), headers={**auth, **JSON})
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"
    response = client.put("/api/v1/flows/x", data=deep, headers={**auth, **JSON})
    assert response.status_code == 400
    assert nothing_stored(rt)


def test_json_nested_a_little_too_deep_is_422(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    nested: object = 1
    for _ in range(100):
        nested = {"a": nested}
    response = client.post("/api/v1/events", json=event(properties={"x": nested}), headers=auth)
    assert response.status_code == 422
    assert fields_of(response.get_json())[0].startswith("properties.x.a.a")
    assert nothing_stored(rt)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(rt: Runtime, client: FlaskClient, auth: dict, constant: str) -> None:
    response = client.post("/api/v1/events", data=raw_event(constant), headers={**auth, **JSON})
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"
    assert nothing_stored(rt)


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                  "9999-12-31T00:00:00Z", "0001-01-01T00:00:00Z"])
def test_an_occurred_at_out_of_range_is_422(rt: Runtime, client: FlaskClient, auth: dict, when: str) -> None:
    install_flow(rt, flow_yaml())
    response = client.post("/api/v1/events", json=event(occurred_at=when), headers=auth)
    assert response.status_code == 422
    assert fields_of(response.get_json()) == ["occurred_at"]
    assert nothing_stored(rt)


@pytest.mark.parametrize("query", ["since=0001-01-01T00:00:00%2B14:00", "until=9999-12-31T23:59:59-14:00",
                                   "until=9999-12-31T23:00:00Z"])
def test_times_out_of_range_in_a_query_are_422(client: FlaskClient, auth: dict, query: str) -> None:
    for path in ("/api/v1/metrics", "/api/v1/responses"):
        if "until" in query and path.endswith("responses"):
            continue
        response = client.get(f"{path}?{query}", headers=auth)
        assert response.status_code == 422, path
        assert fields_of(response.get_json()) == [query.split("=")[0]]


@pytest.mark.parametrize("value", [False, True, 1.0, "3"])
def test_recontact_days_must_be_an_integer(client: FlaskClient, auth: dict, value: object) -> None:
    response = client.post("/api/v1/sites", json={**SITE, "recontact_days": value}, headers=auth)
    assert response.status_code == 422
    assert fields_of(response.get_json()) == ["recontact_days"]
    client.post("/api/v1/sites", json=SITE, headers=auth)
    response = client.patch("/api/v1/sites/web-app", json={"recontact_days": value}, headers=auth)
    assert response.status_code == 422
    assert client.get("/api/v1/sites/web-app", headers=auth).get_json()["recontact_days"] == 14


def test_a_chunked_body_over_the_limit_is_413(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    blob = raw_event('"' + "x" * (rt.settings.max_body_bytes + 10) + '"').encode()
    # A server that decodes chunked bodies (gunicorn) passes no length and marks the input as terminated.
    response = client.post("/api/v1/events", input_stream=io.BytesIO(blob), headers={
        **auth, **JSON, "Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"
    assert nothing_stored(rt)


def test_405_names_the_allowed_methods(client: FlaskClient, auth: dict) -> None:
    response = client.delete("/api/v1/responses", headers=auth)
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert set(response.headers["Allow"].split(", ")) >= {"GET"}
    response = client.post("/api/v1/flows/x", headers=auth)
    assert {"GET", "PUT", "DELETE"} <= set(response.headers["Allow"].split(", "))


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("/api/v1/responses?band=angry", "band", "must be one of detractor, passive, promoter"),
        ("/api/v1/responses?flow=nope", "flow", "no such flow"),
        ("/api/v1/responses?since=tomorrow", "since", "not an ISO 8601 time"),
        ("/api/v1/responses?since=2024-01-01T00:00:00", "since", "needs a UTC offset"),
        ("/api/v1/responses?cursor=%25%25%25", "cursor", "not a cursor"),
        ("/api/v1/responses?band=", "band", "must be one of detractor, passive, promoter"),
        ("/api/v1/responses?bnad=promoter", "bnad", "unknown parameter"),
        ("/api/v1/followups?status=bogus", "status", "must be one of open, claimed, resolved, unresolved"),
        ("/api/v1/followups?cursor=abc", "cursor", "not a cursor"),
        ("/api/v1/metrics?flow=nope", "flow", "no such flow"),
        ("/api/v1/metrics?channel=pigeon", "channel", "must be one of " + ", ".join(CHANNEL_NAMES)),
        ("/api/v1/metrics?until=soon", "until", "not an ISO 8601 time"),
    ],
)
def test_bad_query_parameters_are_422_naming_the_parameter(client: FlaskClient, auth: dict, query: str,
                                                           field: str, message: str) -> None:
    response = client.get(query, headers=auth)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid"
    assert error["details"] == [{"field": field, "message": message}]


def test_a_cursor_past_any_id_is_422(client: FlaskClient, auth: dict) -> None:
    cursor = base64.urlsafe_b64encode(f"r{2**70}".encode()).decode().rstrip("=")
    for path in ("/api/v1/responses", "/api/v1/followups"):
        response = client.get(f"{path}?cursor={cursor}", headers=auth)
        assert response.status_code == 422
        assert fields_of(response.get_json()) == ["cursor"]


def test_good_query_parameters_still_filter(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    install_flow(rt, flow_yaml())
    for query in ("flow=nps-test&band=promoter&contact=cust-1&since=2024-01-01T00:00:00Z",
                  "flow=nps-test&channel=sms&since=2024-01-01T00:00:00%2B02:00&until=2999-01-01T00:00:00Z"):
        path = "/api/v1/responses" if "band" in query else "/api/v1/metrics"
        assert client.get(f"{path}?{query}", headers=auth).status_code == 200
    assert client.get("/api/v1/followups?status=open&queue=recovery", headers=auth).get_json()["items"] == []


@pytest.mark.parametrize(("sla", "message"), [("99999999999d", "at most 365d"), ("366d", "at most 365d"),
                                              ("30s", "at least 1m")])
def test_a_queue_sla_out_of_range_is_422(client: FlaskClient, auth: dict, sla: str, message: str) -> None:
    response = client.patch("/api/v1/queues/recovery", json={"sla": sla}, headers=auth)
    assert response.status_code == 422
    assert error_of(response)["details"] == [{"field": "sla", "message": message}]


def test_the_document_lists_what_the_routes_answer(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert {"200", "202", "400", "401", "413", "415", "422"} <= set(doc["paths"]["/events"]["post"]["responses"])
    assert {"200", "201", "404", "415", "422"} <= set(doc["paths"]["/flows/{key}"]["put"]["responses"])
    assert {"404", "409", "422"} <= set(doc["paths"]["/followups/{id}/claim"]["post"]["responses"])
    schemas = doc["components"]["schemas"]
    assert schemas["NoteIn"]["properties"]["text"]["minLength"] == 1
    assert schemas["ReplyIn"]["properties"]["text"]["minLength"] == 1
    [band] = [p for p in doc["paths"]["/responses"]["get"]["parameters"] if p["name"] == "band"]
    assert band["schema"]["enum"] == ["detractor", "passive", "promoter"]
    [ident] = doc["paths"]["/deliveries/{id}"]["get"]["parameters"]
    assert ident["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
