"""Provider status reports: a report that beats the send's commit is held, then applied, never lost."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.app import create_app
from bot.provider_status import apply_status, retry_held_statuses
from bot.runtime import Runtime
from channels.base import DeliveryState, StatusReport
from storage.apikeys import create_api_key
from storage.models import HeldStatus, Message
from storage.types import utcnow
from tests.conftest import make_settings
from tests.fakes.twilio_api import FakeTwilio, sign
from tests.helpers import event, flow_yaml, install_flow, tick, twilio_env


def test_a_report_for_a_message_not_stored_yet_is_held_then_applied(
    rt: Runtime, client: FlaskClient, auth: dict
) -> None:
    install_flow(rt, flow_yaml())
    [planned] = client.post("/api/v1/events", json=event(), headers=auth).get_json()["deliveries"]
    report = StatusReport("sms", "SM-early", DeliveryState.DELIVERED, "delivered")
    apply_status(rt, report)
    with rt.session() as session:
        assert len(session.exec(select(HeldStatus)).all()) == 1

    tick(rt)  # the send commits; the sandbox gave it another id, so the report still waits
    with rt.session() as session:
        question = session.exec(select(Message).where(Message.kind == "question")).one()
        question.provider_message_id = "SM-early"  # as a real provider's id would be
        session.add(question)
    assert retry_held_statuses(rt, utcnow()) == 1

    shown = client.get(f"/api/v1/deliveries/{planned['id']}", headers=auth).get_json()
    assert shown["status"] == "delivered"
    with rt.session() as session:
        assert session.exec(select(HeldStatus)).all() == []


def test_an_sms_twilio_reports_undelivered_moves_to_email_despite_the_throttle(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeTwilio() as twilio:
        for name, value in twilio_env(twilio).items():
            monkeypatch.setenv(name, value)
        app = create_app(make_settings(database_url, sandbox="on"))  # email stays on the sandbox
        rt, client = app.extensions["touchpoint"], app.test_client()
        try:
            install_flow(rt, flow_yaml(extra="throttle: 30d\n"))
            with rt.session() as session:
                key = create_api_key(session, "tests")
            auth = {"Authorization": f"Bearer {key}"}
            [planned] = client.post("/api/v1/events", json=event(), headers=auth).get_json()["deliveries"]
            assert tick(rt).sent == 1
            [question] = twilio.sent

            url = question.params["StatusCallback"]
            params = twilio.status_callback_for(question.sid, "undelivered", error_code=30003)
            answer = client.post(urlsplit(url).path, data=params,
                                 headers={"X-Twilio-Signature": sign(url, params, twilio.auth_token)})
            assert answer.status_code == 204
            assert tick(rt).sent == 1

            shown = client.get(f"/api/v1/deliveries/{planned['id']}", headers=auth).get_json()
            assert (shown["channel"], shown["status"]) == ("email", "sent")
            assert any("30003" in (change["detail"] or "") for change in shown["history"])
            [email] = client.get("/api/v1/sandbox/messages", query_string={"to": "ada@example.com"},
                                 headers=auth).get_json()["items"]
            assert email["delivery_id"] == planned["id"]
        finally:
            rt.close()
