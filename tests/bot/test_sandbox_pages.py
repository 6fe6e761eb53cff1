"""The anonymous /sandbox pages reach nothing real: no real provider, no real customer's messages, no existing
customer's data. They exist only while every channel runs on the sandbox, and a deployment can turn them off."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from bot.app import create_app
from bot.demo import load_demo
from bot.runtime import Runtime
from storage.contacts import contact_by_external_id
from storage.models import Delivery
from storage.types import utcnow
from tests.conftest import make_settings
from tests.fakes.twilio_api import FakeTwilio, inbound_sms_params, sign
from tests.helpers import event, flow_yaml, install_flow, tick

OUR_NUMBER = "+15017250604"
CUSTOMER = {"external_id": "cust-1", "name": "Ada Lovelace", "phone": "+447911123456", "email": "ada@example.com"}


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
def real_sms(database_url: str, twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """SMS on real Twilio (the real client against the local double), email on the sandbox beside it."""
    for name, value in {"TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
                        "TWILIO_FROM": OUR_NUMBER, "TWILIO_API_BASE_URL": twilio.base_url,
                        "TWILIO_MPS": "50"}.items():
        monkeypatch.setenv(name, value)
    app = create_app(make_settings(database_url, sandbox="on"))
    install_flow(app.extensions["touchpoint"], flow_yaml("sms-nps"))
    yield app
    app.extensions["touchpoint"].close()


def sandbox_json(client: FlaskClient, channel: str, address: str) -> str:
    """Everything the anonymous pages list about an address, as one text."""
    return (client.get("/sandbox/conversations").get_data(as_text=True)
            + client.get("/sandbox/messages", query_string={"channel": channel, "address": address})
            .get_data(as_text=True))


def test_a_trigger_beside_a_real_provider_sends_nothing(real_sms: Flask, twilio: FakeTwilio) -> None:
    client = real_sms.test_client()
    anonymous = client.post("/sandbox/trigger", json={
        "type": "order.delivered",
        "contact": {"external_id": "sandbox:victim", "name": "Buy cheap pills at", "phone": "+447911123999"}})
    tick(real_sms.extensions["touchpoint"])
    assert twilio.sent == []
    assert anonymous.status_code == 404
    assert client.get("/sandbox").status_code == 404


def test_a_worker_with_real_credentials_never_sends_what_the_sandbox_started(
    client: FlaskClient, rt: Runtime, real_sms: Flask, twilio: FakeTwilio
) -> None:
    """The web process runs on the sandbox (its pages are open); a worker on the same database has real Twilio."""
    started = client.post("/sandbox/trigger", json={
        "type": "order.delivered",
        "contact": {"external_id": "sandbox:victim", "name": "Buy cheap pills at", "phone": "+447911123999"}})
    [planned] = started.get_json()["deliveries"]

    tick(real_sms.extensions["touchpoint"])

    assert twilio.sent == []
    with rt.session() as session:
        delivery = session.get(Delivery, planned["id"])
        assert delivery is not None and (delivery.status, delivery.last_error) == ("failed", "sandbox customer")


def test_a_real_customers_sms_is_not_listed_beside_a_real_provider(real_sms: Flask, twilio: FakeTwilio) -> None:
    client = real_sms.test_client()
    params = inbound_sms_params(CUSTOMER["phone"], OUR_NUMBER, "my card ends 4242, call me")
    url = "http://touchpoint.test/webhooks/twilio/sms"
    stored = client.post(url, data=params, headers={"X-Twilio-Signature": sign(url, params, twilio.auth_token)})
    assert stored.status_code == 200

    assert "4242" not in sandbox_json(client, "sms", CUSTOMER["phone"])


def test_the_sandbox_api_lists_only_what_the_sandbox_transport_sent(
    real_sms: Flask, twilio: FakeTwilio, auth_key: dict[str, str]
) -> None:
    rt: Runtime = real_sms.extensions["touchpoint"]
    install_flow(rt, flow_yaml("mail-nps", event="ticket.solved", channels="[email]"))
    client = real_sms.test_client()
    client.post("/api/v1/events", json=event("sms-1", contact=CUSTOMER), headers=auth_key)
    client.post("/api/v1/events", json=event("mail-1", "ticket.solved", contact=CUSTOMER), headers=auth_key)
    tick(rt)

    assert [m.params["To"] for m in twilio.sent] == [CUSTOMER["phone"]]
    listed = client.get("/api/v1/sandbox/messages", headers=auth_key).get_json()["items"]
    assert [(m["channel"], m["to"]) for m in listed] == [("email", CUSTOMER["email"])]


@pytest.fixture
def auth_key(real_sms: Flask) -> dict[str, str]:
    from storage.apikeys import create_api_key

    with real_sms.extensions["touchpoint"].session() as session:
        return {"Authorization": f"Bearer {create_api_key(session, 'tests')}"}


def test_an_existing_customer_is_not_overwritten_from_the_sandbox(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml())
    client.post("/api/v1/events", json=event("real-1", contact=CUSTOMER), headers=auth)

    refused = [client.post("/sandbox/trigger", json={"type": "order.delivered", "contact": {
        "external_id": external_id, "name": "Mallory", "email": "mallory@example.com", "phone": "+447911123999"}})
        for external_id in ("cust-1", "someone-new")]

    with rt.session() as session:
        contact = contact_by_external_id(session, "cust-1")
        assert contact is not None
        assert (contact.name, contact.addresses["email"], contact.addresses["phone"]) == (
            "Ada Lovelace", "ada@example.com", "+447911123456")
        assert contact_by_external_id(session, "someone-new") is None
    for answer in refused:
        assert answer.status_code == 422
        [problem] = answer.get_json()["error"]["details"]
        assert problem["field"] == "contact.external_id" and "starts with sandbox:" in problem["message"]


def real_customers_survey(rt: Runtime, client: FlaskClient, auth: dict[str, str]) -> dict:
    """A survey for a customer posted through the API: someone the sandbox must leave alone."""
    install_flow(rt, flow_yaml())
    [planned] = client.post("/api/v1/events", json=event("real-1", contact=CUSTOMER), headers=auth).get_json()[
        "deliveries"]
    return planned


def test_a_real_customers_sandboxed_survey_is_neither_listed_nor_answerable(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    planned = real_customers_survey(rt, client, auth)
    tick(rt)

    assert "How likely" not in sandbox_json(client, "sms", CUSTOMER["phone"])
    answered = client.post("/sandbox/reply", json={"channel": "sms", "address": CUSTOMER["phone"], "text": "0"})
    assert answered.status_code == 404
    assert client.get(f"/api/v1/deliveries/{planned['id']}", headers=auth).get_json()["response"] is None


def test_a_sandbox_customer_shares_no_address_with_a_real_one(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    """A sandbox customer given a real customer's phone sees only its own messages and answers nothing."""
    planned = real_customers_survey(rt, client, auth)
    mine = client.post("/sandbox/trigger", json={"type": "order.delivered", "contact": {
        "external_id": "sandbox:copycat", "name": "Copy Cat", "phone": CUSTOMER["phone"]}})
    assert len(mine.get_json()["deliveries"]) == 1
    tick(rt)

    listed = client.get("/sandbox/messages", query_string={"channel": "sms", "address": CUSTOMER["phone"]})
    assert [m["text"][:8] for m in listed.get_json()["items"]] == ["Hi Copy!"]
    assert client.post("/sandbox/reply", json={"channel": "sms", "address": CUSTOMER["phone"],
                                               "text": "0"}).status_code == 404
    assert client.get(f"/api/v1/deliveries/{planned['id']}", headers=auth).get_json()["response"] is None


def test_the_sandbox_and_the_demo_customers_are_played_in_the_pages(rt: Runtime, client: FlaskClient) -> None:
    load_demo(rt)
    started = client.post("/sandbox/trigger", data={
        "type": "order.delivered", "external_id": "sandbox:sam", "name": "Sam", "phone": "+447911123456",
        "properties": "country=GB"}, headers={"Accept": "application/json"})
    assert started.get_json()["outcome"][0].startswith("post-delivery-nps: survey by sms, due ")
    with rt.session() as session:  # no waiting for the demo flows' delays
        session.execute(sa.update(Delivery).values(due_at=utcnow() - timedelta(seconds=1)))
    tick(rt)

    ada, sam = {"channel": "sms", "address": "+447911000001"}, {"channel": "sms", "address": "+447911123456"}
    listed = client.get("/sandbox/conversations").get_json()["items"]
    assert ada in listed and sam in listed
    answered = client.post("/sandbox/reply", json={**ada, "text": "9 quick and friendly"})
    assert answered.status_code == 200 and answered.get_json()["delivery_id"] is not None
    thread = client.get("/sandbox/messages", query_string=ada).get_json()["items"]
    assert [(m["direction"], m["text"][:6]) for m in thread] == [("out", "Hi Ada"), ("in", "9 quic"), ("out", "Thank ")]


def test_a_deployment_turns_the_pages_off(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOUCHPOINT_SANDBOX_PAGES", "off")
    app = create_app(make_settings(database_url))
    try:
        client = app.test_client()
        for path in ("/sandbox", "/sandbox/conversations", "/sandbox/widget/identity?user=demo-ada"):
            assert client.get(path).status_code == 404
        assert client.post("/sandbox/trigger", json={"type": "order.delivered", "contact": {
            "external_id": "sandbox:x"}}).status_code == 404
        assert app.extensions["touchpoint"].channels["sms"].sandboxed  # the channels themselves stay on
    finally:
        app.extensions["touchpoint"].close()
