"""Bad input gets a clear JSON error naming the field, and nothing is stored half-way."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.runtime import Runtime
from storage.models import Contact, Delivery, Event
from tests.helpers import event, flow_yaml, install_flow


def nothing_stored(rt: Runtime) -> bool:
    with rt.session() as session:
        return not any(session.exec(select(model)).all() for model in (Event, Contact, Delivery))


def fields_of(body: dict) -> list[str]:
    return [d["field"] for d in body["error"]["details"]]


def test_missing_api_key_is_401(client: FlaskClient) -> None:
    response = client.post("/api/v1/events", json=event())
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_invalid_api_key_is_401(client: FlaskClient) -> None:
    response = client.get("/api/v1/responses", headers={"Authorization": "Bearer tp_not-a-key"})
    assert response.status_code == 401
    assert "invalid" in response.get_json()["error"]["message"]


def test_malformed_json_is_400_and_stores_nothing(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    response = client.post(
        "/api/v1/events", data='{"type": "x",', headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_json"
    assert nothing_stored(rt)


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"type": 5}, "type"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"contact": {"external_id": "c", "phone": "12345"}}, "contact.phone"),
        ({"contact": {"external_id": "c", "phone": "+44 7911 12"}}, "contact.phone"),
        ({"contact": {"external_id": "c", "timezone": "Mars/Olympus"}}, "contact.timezone"),
        ({"contact": {"external_id": "c", "email": "not-an-email"}}, "contact.email"),
        ({"contact": {"name": "no id"}}, "contact.external_id"),
        ({"contact": {"external_id": "c", "addresses": {"pager_number": "12345"}}},
         "contact.addresses.pager_number"),
        ({"contact": {"external_id": "c", "addresses": {"email": "nope"}}}, "contact.addresses.email"),
        ({"properties": ["not", "an", "object"]}, "properties"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(
    rt: Runtime, client: FlaskClient, auth: dict, patch: dict, field: str
) -> None:
    install_flow(rt, flow_yaml())
    response = client.post("/api/v1/events", json={**event(), **patch}, headers=auth)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"]["code"] == "invalid"
    assert field in fields_of(body)
    with rt.session() as session:
        assert session.exec(select(Event)).all() == []


def test_phone_numbers_are_stored_in_e164(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    body = event(contact={"external_id": "c", "phone": "+44 (0)7911 123456"})
    assert client.post("/api/v1/events", json=body, headers=auth).status_code == 202
    with rt.session() as session:
        [contact] = session.exec(select(Contact)).all()
        assert contact.addresses == {"phone": "+447911123456"}


def test_oversized_body_is_413(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    huge = event(properties={"blob": "x" * (rt.settings.max_body_bytes + 10)})
    response = client.post("/api/v1/events", json=huge, headers=auth)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert nothing_stored(rt)


def test_unknown_ids_are_404(client: FlaskClient, auth: dict) -> None:
    for path in ("/api/v1/deliveries/999999", "/api/v1/flows/no-such-flow", "/api/v1/nothing-here"):
        response = client.get(path, headers=auth)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "not_found"


def test_bad_cursor_and_since_are_422_naming_the_parameter(client: FlaskClient, auth: dict) -> None:
    assert client.get("/api/v1/responses?cursor=%%%", headers=auth).status_code == 422
    response = client.get("/api/v1/responses?since=tomorrow", headers=auth)
    assert response.status_code == 422
    assert fields_of(response.get_json()) == ["since"]


def test_sandbox_inbound_names_unknown_channels(client: FlaskClient, auth: dict) -> None:
    response = client.post(
        "/api/v1/sandbox/inbound", json={"channel": "pigeon", "from": "x", "text": "9"}, headers=auth
    )
    assert response.status_code == 422
    assert fields_of(response.get_json()) == ["channel"]


def test_addresses_in_the_generic_field_are_checked_and_stored_by_their_channel(
    rt: Runtime, client: FlaskClient, auth: dict
) -> None:
    body = event(contact={"external_id": "c", "addresses": {"email": "Ada@Example.com", "slack_user_id": "U0ADA"}})
    assert client.post("/api/v1/events", json=body, headers=auth).status_code == 202
    with rt.session() as session:
        [contact] = session.exec(select(Contact)).all()
        assert contact.addresses == {"email": "ada@example.com", "slack_user_id": "U0ADA"}
