"""/app/admin/webhooks: an admin subscribes a URL (the secret shown once), sees its state and last delivery, sends
a test event, reads the delivery log, disables, enables and deletes it; admins are emailed when the worker
disables a subscription after a day of failures."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.runtime import Runtime
from bot.settings import Settings
from bot.webhook_delivery import deliver_webhooks
from storage.models import AuditEntry, Message, Role
from storage.types import utcnow
from tests.conftest import make_settings
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.helpers import DETRACTORS_TO_RECOVERY, event, flow_yaml, install_flow, tick
from tests.web_client import add_user, button_names, sign_in, submit, unnamed_controls

ADMIN, AGENT = "admin@example.com", "agent@example.com"
PAGE = "/app/admin/webhooks"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, webhooks_allow_private=True, webhooks_retry_base_seconds=0.0,
                         webhooks_retry_max_seconds=0.0)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.stop()


@pytest.fixture
def admin(client: FlaskClient, rt: Runtime) -> FlaskClient:
    sign_in(client, ADMIN, add_user(rt, ADMIN, Role.ADMIN))
    return client


def subscribe(admin: FlaskClient, receiver: WebhookReceiver, *events: str) -> int:
    created = submit(admin, PAGE, PAGE, {"url": receiver.url, "events": list(events), "description": "<CRM>"})
    html = created.get_data(as_text=True)
    assert created.status_code == 201, html
    found = re.search(r'<code id="webhook-secret">(whsec_[^<]+)</code>', html)
    assert found
    receiver.secret = found[1]
    assert found[1] not in admin.get(PAGE).get_data(as_text=True)
    return int(re.search(r"The signing secret of webhook #(\d+)", html)[1])  # type: ignore[index]


def test_subscribe_test_read_the_log_disable_enable_and_delete(
        admin: FlaskClient, rt: Runtime, receiver: WebhookReceiver) -> None:
    webhook_id = subscribe(admin, receiver, "response.created", "contact.opted_out")
    listing = admin.get(PAGE).get_data(as_text=True)
    assert "response.created, contact.opted_out" in listing and "&lt;CRM&gt;" in listing and "none yet" in listing
    assert unnamed_controls(listing) == []
    detail = f"{PAGE}/{webhook_id}"
    receiver.statuses = [500]
    failed = submit(admin, detail, f"{detail}/test", {}).get_data(as_text=True)
    assert "not delivered: HTTP 500" in failed
    delivered = submit(admin, detail, f"{detail}/test", {}).get_data(as_text=True)
    assert "delivered, HTTP 200" in delivered and receiver.deliveries[-1].verified
    assert delivered.count("<th scope=\"row\">webhook.test</th>") == 2
    assert "HTTP 200, <time" in admin.get(PAGE).get_data(as_text=True)  # the last delivery, in the list
    assert button_names(delivered)[-3:] == ["Send a test event", "Disable", "Delete"]

    disabled = submit(admin, detail, f"{detail}/disable", {}, follow_redirects=True).get_data(as_text=True)
    assert "disabled: disabled by an admin" in disabled and "Enable</button>" in disabled
    enabled = submit(admin, detail, f"{detail}/enable", {}, follow_redirects=True).get_data(as_text=True)
    assert "Disable</button>" in enabled
    gone = submit(admin, detail, f"{detail}/delete", {}, follow_redirects=True).get_data(as_text=True)
    assert f"Webhook #{webhook_id} is deleted" in gone and "No webhooks yet." in gone
    assert admin.get(detail).status_code == 404
    assert admin.get(f"{PAGE}/99999999999").status_code == 404
    with rt.session() as session:
        actions = [a.action for a in session.exec(select(AuditEntry).where(AuditEntry.kind == "webhook")).all()]
    assert actions == ["created", "disabled", "enabled", "deleted"]


def test_bad_input_is_named_inline(admin: FlaskClient, rt: Runtime) -> None:
    empty = submit(admin, PAGE, PAGE, {"url": "", "events": []})
    html = empty.get_data(as_text=True)
    assert empty.status_code == 422 and "URL is required" in html and "Choose at least one event" in html
    rt.settings.webhooks_allow_private = False
    private = submit(admin, PAGE, PAGE, {"url": "https://127.0.0.1/x?<b>", "events": ["response.created"]})
    html = private.get_data(as_text=True)
    assert private.status_code == 422 and "resolves to a private, loopback or link-local address" in html
    assert 'value="https://127.0.0.1/x?&lt;b&gt;"' in html and 'id="event-response-created" name="events" ' \
        'value="response.created" checked' in html
    assert admin.post(PAGE, data={"url": "https://93.184.215.14/", "events": ["response.created"]}).status_code == 400


def test_agents_get_403(client: FlaskClient, rt: Runtime) -> None:
    sign_in(client, AGENT, add_user(rt, AGENT))
    assert client.get(PAGE).status_code == 403
    assert client.get(f"{PAGE}/1").status_code == 403


def test_admins_are_emailed_when_a_day_of_failures_disables_a_subscription(
        admin: FlaskClient, rt: Runtime, auth: dict[str, str], receiver: WebhookReceiver) -> None:
    add_user(rt, "second.admin@example.com", Role.ADMIN)
    add_user(rt, AGENT)
    webhook_id = subscribe(admin, receiver, "response.created")
    receiver.statuses = [503] * 3
    install_flow(rt, flow_yaml(ask="never", extra=DETRACTORS_TO_RECOVERY))
    admin.post("/api/v1/events", json=event(), headers=auth)
    tick(rt)
    admin.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": "+447911123456", "text": "9"}, headers=auth)
    start = utcnow()
    for hours in (0, 5, 25):
        deliver_webhooks(rt, start + timedelta(hours=hours))
    with rt.session() as session:
        mails = session.exec(select(Message).where(Message.kind == "webhook_disabled")).all()
        audited = session.exec(select(AuditEntry).where(AuditEntry.action == "disabled")).all()
    assert sorted(m.address for m in mails) == [ADMIN, "second.admin@example.com"]
    assert all(m.channel == "email" and m.contact_id is None and f"/app/admin/webhooks/{webhook_id}" in m.text
               and "HTTP 503" in m.text for m in mails)
    assert [(a.actor, a.object_key) for a in audited] == [("system", str(webhook_id))]
    page = admin.get(PAGE).get_data(as_text=True)
    assert "disabled</span>: failing since" in page
