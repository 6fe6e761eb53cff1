"""Outbound webhooks: events of a real survey reach a real receiver, signed (verified with the standardwebhooks
package), in order, retried, and given up after a day; the outbox commits with the change; private URLs are
refused unless allowed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlmodel import select
from standardwebhooks.webhooks import Webhook as Verifier

from bot.cli import main
from bot.runtime import Runtime
from bot.settings import Settings
from bot.webhook_delivery import AddressRefused, deliver_webhooks, http_session
from bot.webhooks import WebhookUrlRefused, check_url
from storage.contacts import contact_by_external_id, set_opt_out
from storage.models import WebhookMessage
from storage.types import utcnow
from storage.webhooks import claim_webhooks
from tests.conftest import make_settings
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.helpers import DETRACTORS_TO_RECOVERY, event, flow_yaml, install_flow, tick

PHONE = "+447911123456"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, webhooks_allow_private=True, webhooks_retry_base_seconds=0.0,
                         webhooks_retry_max_seconds=0.0)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.stop()


def subscribe(client: FlaskClient, auth: dict, receiver: WebhookReceiver, *events: str) -> dict:
    response = client.post("/api/v1/webhooks", json={"url": receiver.url, "events": list(events)}, headers=auth)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    receiver.secret = created["secret"]
    return created


def survey_answered(rt: Runtime, client: FlaskClient, auth: dict, text: str) -> None:
    """A real survey: the event, the worker's send on the sandbox, the customer's SMS reply."""
    install_flow(rt, flow_yaml(ask="never", extra=DETRACTORS_TO_RECOVERY))
    assert client.post("/api/v1/events", json=event(), headers=auth).status_code == 202
    tick(rt)
    reply = client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": PHONE, "text": text}, headers=auth)
    assert reply.status_code == 200


def outbox(rt: Runtime) -> list[WebhookMessage]:
    with rt.session() as session:
        return list(session.exec(select(WebhookMessage).order_by(WebhookMessage.id)).all())


def test_a_detractor_reaches_the_receiver_signed_in_order_after_two_failures(
    rt: Runtime, client: FlaskClient, auth: dict, receiver: WebhookReceiver
) -> None:
    hook = subscribe(client, auth, receiver, "response.created", "followup.opened")
    assert hook["secret"].startswith("whsec_")
    receiver.statuses = [500, 500]
    survey_answered(rt, client, auth, "1")

    assert deliver_webhooks(rt) == 0  # the answer's event fails; the case's waits behind it
    assert deliver_webhooks(rt) == 0
    assert deliver_webhooks(rt) == 2
    assert deliver_webhooks(rt) == 0

    got = receiver.deliveries
    assert all(d.verified for d in got)
    assert [d.body["type"] for d in got] == ["response.created"] * 3 + ["followup.opened"]
    assert len({d.msg_id for d in got[:3]}) == 1 and got[3].msg_id != got[0].msg_id
    answer = got[0].body["data"]
    assert answer["response"]["score"] == 1 and answer["response"]["band"] == "detractor"
    assert answer["response"]["flow"] == "nps-test" and answer["response"]["channel"] == "sms"
    assert answer["contact"] == {"external_id": "cust-1"}
    case = got[3].body["data"]
    assert case["followup"]["queue"] == "recovery" and case["followup"]["priority"] == "high"
    assert case["response"]["id"] == answer["response"]["id"]
    assert all(PHONE.encode() not in d.raw and b"Ada" not in d.raw and b"comment" not in d.raw for d in got)

    detail = client.get(f"/api/v1/webhooks/{hook['id']}", headers=auth).get_json()
    assert [a["status_code"] for a in detail["attempts"]] == [200, 200, 500, 500]
    assert [a["error"] for a in detail["attempts"]][2:] == ["HTTP 500", "HTTP 500"]
    assert detail["pending"] == 0 and detail["failing_since"] is None and "secret" not in detail
    assert all(m.body is None and m.status == "delivered" for m in outbox(rt))


def test_comments_and_opt_outs_and_resolved_cases_are_events(
    rt: Runtime, client: FlaskClient, auth: dict, receiver: WebhookReceiver
) -> None:
    subscribe(client, auth, receiver, "response.commented", "followup.resolved", "contact.opted_out")
    survey_answered(rt, client, auth, "3 - the parcel was crushed")
    [case] = client.get("/api/v1/followups", headers=auth).get_json()["items"]
    client.post(f"/api/v1/followups/{case['id']}/resolve", json={"note": "refunded Ada", "author": "sam"},
                headers=auth)
    client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": PHONE, "text": "STOP"}, headers=auth)
    deliver_webhooks(rt)

    types = [d.body["type"] for d in receiver.deliveries]
    assert types == ["response.commented", "followup.resolved", "contact.opted_out"]
    commented, resolved, opted_out = (d.body["data"] for d in receiver.deliveries)
    assert commented["response"]["comment"] == "the parcel was crushed"
    assert resolved["followup"]["resolved_by"] == "sam" and "refunded" not in str(resolved)
    assert opted_out["channel"] == "sms" and opted_out["contact"] == {"external_id": "cust-1"}
    assert all(d.verified for d in receiver.deliveries)


def test_the_outbox_row_commits_or_rolls_back_with_the_change(
    rt: Runtime, client: FlaskClient, auth: dict, receiver: WebhookReceiver
) -> None:
    client.post("/api/v1/events", json=event(), headers=auth)
    with rt.session() as session:
        contact = contact_by_external_id(session, "cust-1")
        assert contact is not None and contact.id is not None
        contact_id = contact.id
    with rt.session() as session:
        set_opt_out(session, contact_id, "sms", utcnow(), "reply")
    assert outbox(rt) == []  # nobody subscribed: nothing is written

    subscribe(client, auth, receiver, "contact.opted_out")
    with pytest.raises(RuntimeError), rt.session() as session:
        set_opt_out(session, contact_id, "email", utcnow(), "reply")
        assert len(outbox_in(session)) == 1
        raise RuntimeError("the change fails after the event was written")
    assert outbox(rt) == []
    with rt.session() as session:
        set_opt_out(session, contact_id, "email", utcnow(), "reply")
    assert [m.type for m in outbox(rt)] == ["contact.opted_out"]


def outbox_in(session: object) -> list[WebhookMessage]:
    return list(session.exec(select(WebhookMessage)).all())  # type: ignore[attr-defined]


def test_a_subscription_failing_for_a_day_gives_up_and_is_disabled_until_enabled_again(
    rt: Runtime, client: FlaskClient, auth: dict, receiver: WebhookReceiver
) -> None:
    hook = subscribe(client, auth, receiver, "response.created", "followup.opened")
    receiver.statuses = [503] * 3
    survey_answered(rt, client, auth, "2")
    start = utcnow()
    deliver_webhooks(rt, start)
    deliver_webhooks(rt, start + timedelta(hours=5))
    deliver_webhooks(rt, start + timedelta(hours=25))
    detail = client.get(f"/api/v1/webhooks/{hook['id']}", headers=auth).get_json()
    assert detail["enabled"] is False and detail["disabled_reason"].startswith("failing since ")
    assert "HTTP 503" in detail["disabled_reason"] and detail["pending"] == 1
    assert [m.status for m in outbox(rt)] == ["failed", "pending"]
    assert deliver_webhooks(rt, start + timedelta(hours=26)) == 0

    enabled = client.patch(f"/api/v1/webhooks/{hook['id']}", json={"enabled": True}, headers=auth).get_json()
    assert enabled["enabled"] is True and enabled["disabled_reason"] is None
    assert deliver_webhooks(rt) == 1
    assert [d.body["type"] for d in receiver.deliveries][-1] == "followup.opened"


def test_a_410_disables_at_once(rt: Runtime, client: FlaskClient, auth: dict, receiver: WebhookReceiver) -> None:
    hook = subscribe(client, auth, receiver, "response.created")
    receiver.statuses = [410]
    survey_answered(rt, client, auth, "9")
    deliver_webhooks(rt)
    detail = client.get(f"/api/v1/webhooks/{hook['id']}", headers=auth).get_json()
    assert detail["enabled"] is False and "410" in detail["disabled_reason"]


def test_urls_on_private_addresses_are_refused_unless_allowed(
    rt: Runtime, client: FlaskClient, auth: dict, receiver: WebhookReceiver
) -> None:
    hook = subscribe(client, auth, receiver, "response.created")
    rt.settings.webhooks_allow_private = False
    for url, reason in [(receiver.url, "https"), ("https://127.0.0.1:9/hooks", "private"),
                        ("https://[::1]/hooks", "private"), ("https://169.254.169.254/latest", "private"),
                        ("https://localhost/hooks", "private"), ("https://10.1.2.3/x", "private"),
                        ("https://[::ffff:192.168.0.1]/x", "private"), ("https://u:p@example.com/x", "password")]:
        response = client.post("/api/v1/webhooks", json={"url": url, "events": ["response.created"]}, headers=auth)
        assert response.status_code == 422, url
        [detail] = response.get_json()["error"]["details"]
        assert detail["field"] == "url" and reason in detail["message"], (url, detail)

    # Checked again when sending: the subscription made while allowed gets nothing now.
    survey_answered(rt, client, auth, "9")
    deliver_webhooks(rt)
    assert receiver.deliveries == []
    [attempt] = client.get(f"/api/v1/webhooks/{hook['id']}", headers=auth).get_json()["attempts"]
    assert attempt["status_code"] is None and attempt["error"] == "not sent: must be an https:// URL"


def test_check_url_takes_public_https_and_refuses_the_rest() -> None:
    assert check_url("https://93.184.215.14/hooks?x=1", allow_private=False)
    assert check_url("http://127.0.0.1:8080/x", allow_private=True)
    for url in ("ftp://93.184.215.14/", "https://", "not a url", "https://0.0.0.0/", "https://[fe80::1]/"):
        with pytest.raises(WebhookUrlRefused):
            check_url(url, allow_private=False)


def test_the_api_checks_events_ids_and_manages_the_subscription(
    client: FlaskClient, auth: dict, receiver: WebhookReceiver
) -> None:
    bad = client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["response.deleted"]}, headers=auth)
    assert bad.status_code == 422 and bad.get_json()["error"]["details"][0]["field"] == "events.0"
    assert client.post("/api/v1/webhooks", json={"url": receiver.url, "events": []}, headers=auth).status_code == 422
    for method in ("get", "patch", "delete"):
        assert getattr(client, method)("/api/v1/webhooks/999", headers=auth, json={}).status_code == 404
    assert client.post("/api/v1/webhooks/999/test", headers=auth).status_code == 404

    hook = subscribe(client, auth, receiver, "response.created", "response.created")
    assert hook["events"] == ["response.created"]
    [listed] = client.get("/api/v1/webhooks", headers=auth).get_json()["items"]
    assert listed["id"] == hook["id"] and "secret" not in listed
    changed = client.patch(f"/api/v1/webhooks/{hook['id']}", json={"events": ["followup.opened"], "enabled": False},
                           headers=auth).get_json()
    assert changed["events"] == ["followup.opened"] and changed["disabled_reason"] == "disabled by an admin"
    assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=auth).status_code == 204
    assert client.get("/api/v1/webhooks", headers=auth).get_json()["items"] == []


def test_a_test_event_and_a_rotated_secret_verify(client: FlaskClient, auth: dict, receiver: WebhookReceiver) -> None:
    hook = subscribe(client, auth, receiver, "response.created")
    sent = client.post(f"/api/v1/webhooks/{hook['id']}/test", headers=auth).get_json()
    assert sent["delivered"] is True and sent["status_code"] == 200
    [delivery] = receiver.deliveries
    assert delivery.verified and delivery.msg_id == sent["message_id"]
    assert delivery.body["type"] == "webhook.test" and delivery.body["data"] == {"webhook": {"id": hook["id"]}}

    rotated = client.post(f"/api/v1/webhooks/{hook['id']}/secret", headers=auth).get_json()
    assert rotated["secret"] != hook["secret"] and rotated["previous_valid_until"]
    client.post(f"/api/v1/webhooks/{hook['id']}/test", headers=auth)
    last = receiver.deliveries[-1]
    assert len(last.headers["webhook-signature"].split(" ")) == 2
    for secret in (hook["secret"], rotated["secret"]):  # both sign during the overlap
        Verifier(secret).verify(last.raw, last.headers)


def test_erasing_a_contact_drops_their_events_not_yet_sent(
    rt: Runtime, client: FlaskClient, auth: dict, receiver: WebhookReceiver
) -> None:
    subscribe(client, auth, receiver, "response.created")
    survey_answered(rt, client, auth, "9")
    assert len(outbox(rt)) == 1
    assert client.delete("/api/v1/contacts/cust-1", headers=auth).status_code == 204
    assert outbox(rt) == []


def test_the_cli_creates_lists_tests_disables_and_deletes(
    database_url: str, rt: Runtime, receiver: WebhookReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"TOUCHPOINT_DATABASE_URL": database_url, "TOUCHPOINT_LOG_LEVEL": "WARNING",
           "TOUCHPOINT_WEBHOOKS_ALLOW_PRIVATE": "true"}

    def touchpoint(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        return result.exit_code, result.output

    code, out = touchpoint("webhooks", "create", receiver.url, "--event", "response.created", "--event",
                           "followup.opened")
    assert code == 0
    webhook_id = out.split("webhook: ", 1)[1].split("\n", 1)[0]
    receiver.secret = out.split("secret: ", 1)[1].split("\n", 1)[0]
    code, out = touchpoint("webhooks", "list")
    assert f"{webhook_id}  enabled" in out and "response.created, followup.opened" in out
    code, out = touchpoint("webhooks", "test", webhook_id)
    assert code == 0 and "delivered, HTTP 200" in out and receiver.deliveries[0].verified
    assert touchpoint("webhooks", "disable", webhook_id)[0] == 0
    assert "disabled: disabled by an admin" in touchpoint("webhooks", "list")[1]
    assert touchpoint("webhooks", "delete", webhook_id)[0] == 0
    code, out = touchpoint("webhooks", "delete", webhook_id)
    assert code == 1 and f"webhook {webhook_id} does not exist" in out

    env["TOUCHPOINT_WEBHOOKS_ALLOW_PRIVATE"] = "false"
    code, out = touchpoint("webhooks", "create", "https://127.0.0.1/x", "--event", "response.created")
    assert code == 1 and "private" in out
    with rt.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM webhook")).scalar() == 0


def test_a_failing_subscription_holds_up_only_itself(
    rt: Runtime, client: FlaskClient, auth: dict, receiver: WebhookReceiver
) -> None:
    other = WebhookReceiver()
    try:
        subscribe(client, auth, receiver, "response.created")
        subscribe(client, auth, other, "response.created")
        receiver.statuses = [500]
        survey_answered(rt, client, auth, "9")
        assert deliver_webhooks(rt) == 1
        assert [d.verified for d in other.deliveries] == [True]
        assert [d.body["type"] for d in receiver.deliveries] == ["response.created"]
        assert deliver_webhooks(rt) == 1
        assert len(receiver.deliveries) == 2 and len(other.deliveries) == 1
        assert receiver.deliveries[0].msg_id != other.deliveries[0].msg_id
    finally:
        other.stop()


def test_a_claimed_subscription_is_not_claimed_twice(
    rt: Runtime, client: FlaskClient, auth: dict, receiver: WebhookReceiver
) -> None:
    hook = subscribe(client, auth, receiver, "response.created")
    survey_answered(rt, client, auth, "9")
    now = utcnow()
    with rt.session() as first:
        assert claim_webhooks(first, now, 10, timedelta(minutes=5)) == [hook["id"]]
    with rt.session() as second:
        assert claim_webhooks(second, now, 10, timedelta(minutes=5)) == []
    assert deliver_webhooks(rt, now) == 0  # held by the first claim
    assert deliver_webhooks(rt, now + timedelta(minutes=6)) == 1  # its lease ran out


def test_a_connection_that_reaches_a_private_address_sends_nothing(receiver: WebhookReceiver) -> None:
    """DNS can answer the check with a public address and the connection with an inner one: the address the
    socket reached is checked before a byte is sent."""
    with http_session(allow_private=False) as http, pytest.raises(AddressRefused):
        http.post(receiver.url, data=b"{}", timeout=5)
    assert receiver.deliveries == []
    with http_session(allow_private=True) as http, http.post(receiver.url, data=b"{}", timeout=5) as answer:
        assert answer.status_code == 200
    assert len(receiver.deliveries) == 1
