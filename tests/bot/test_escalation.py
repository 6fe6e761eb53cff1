"""Escalation of a case past its SLA: one email to the queue's lead (SMTP or sandbox), the case's card on the
queue's Slack channel marked overdue, the hand-over to the queue's overdue assignee, each in the trail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.app import create_app
from bot.runtime import Runtime
from storage.models import FollowUp
from storage.types import utcnow
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack
from tests.fakes.smtp import FakeSmtp
from tests.helpers import event, flow_yaml, install_flow, tick

PHONE, LEAD, SUPPORT = "+447911123456", "lead@shop.example.com", "C0SUPPORT"
FLOW = flow_yaml(ask="detractors", channels="[sms]", extra="""\
routing:
  - when: {band: detractor}
    queue: recovery
""")


def overdue_case(rt: Runtime, client: FlaskClient, auth: dict, **queue: object) -> int:
    install_flow(rt, FLOW)
    client.patch("/api/v1/queues/recovery", json={"name": "Recovery", **queue}, headers=auth)
    client.post("/api/v1/events", json=event(), headers=auth)
    tick(rt)
    for text in ("2", "The parcel was crushed"):
        client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": PHONE, "text": text}, headers=auth)
    [case] = client.get("/api/v1/followups", headers=auth).get_json()["items"]
    with rt.session() as session:
        row = session.get(FollowUp, case["id"])
        assert row is not None
        row.due_at = utcnow() - timedelta(minutes=1)
    return case["id"]


def mails_to(client: FlaskClient, auth: dict, address: str) -> list[str]:
    found = client.get("/api/v1/sandbox/messages", query_string={"to": address}, headers=auth).get_json()["items"]
    return [m["text"] for m in found]


def test_a_breach_is_told_once_to_the_lead_and_the_case_handed_over(rt: Runtime, client: FlaskClient,
                                                                    auth: dict) -> None:
    case_id = overdue_case(rt, client, auth, lead_email=LEAD, overdue_assignee="sam@shop.example.com")
    assert tick(rt).escalated == 1
    [mail] = mails_to(client, auth, LEAD)
    assert mail.startswith(f"Case #{case_id} in Recovery is past its due time")
    assert "Customer: Ada Lovelace, who answered NPS 2 (detractor)" in mail
    assert "Comment: The parcel was crushed" in mail and "Assigned to: sam@shop.example.com" in mail
    assert f"http://touchpoint.test/app/cases/{case_id}" in mail
    case = client.get(f"/api/v1/followups/{case_id}", headers=auth).get_json()
    assert case["assignee"] == "sam@shop.example.com"
    assert [(a["kind"], a["detail"]) for a in case["activity"]][-3:] == [
        ("sla_breached", None), ("assigned", "sam@shop.example.com"), ("escalated", LEAD)]
    assert tick(rt).escalated == 0
    assert len(mails_to(client, auth, LEAD)) == 1
    assert client.delete("/api/v1/contacts/cust-1", headers=auth).status_code == 204
    assert mails_to(client, auth, LEAD) == []  # it quoted the customer: erased with them


def test_a_queue_without_a_lead_or_assignee_escalates_nothing_and_old_breaches_stay_quiet(
    rt: Runtime, client: FlaskClient, auth: dict
) -> None:
    case_id = overdue_case(rt, client, auth)
    assert tick(rt).sla_breached == 1
    with rt.session() as session:
        row = session.get(FollowUp, case_id)
        assert row is not None and row.escalated_at is None
        row.breached_at = utcnow() - timedelta(hours=2)
    client.patch("/api/v1/queues/recovery", json={"lead_email": LEAD}, headers=auth)
    assert tick(rt).escalated == 0 and mails_to(client, auth, LEAD) == []


def test_a_reopened_case_that_breaches_again_is_escalated_again(rt: Runtime, client: FlaskClient,
                                                                auth: dict) -> None:
    case_id = overdue_case(rt, client, auth, lead_email=LEAD)
    tick(rt)
    client.post(f"/api/v1/followups/{case_id}/resolve", headers=auth)
    client.post(f"/api/v1/followups/{case_id}/reopen", headers=auth)
    with rt.session() as session:
        row = session.get(FollowUp, case_id)
        assert row is not None
        row.due_at = utcnow() - timedelta(minutes=1)
    assert tick(rt).escalated == 1 and len(mails_to(client, auth, LEAD)) == 2


def test_the_lead_email_is_checked(client: FlaskClient, auth: dict) -> None:
    wrong = client.patch("/api/v1/queues/recovery", json={"lead_email": "not an address"}, headers=auth)
    assert wrong.status_code == 422 and wrong.get_json()["error"]["details"][0]["field"] == "lead_email"
    fine = client.patch("/api/v1/queues/recovery", json={"lead_email": "Lead@Shop.example.com"}, headers=auth)
    assert fine.get_json()["lead_email"] == "lead@shop.example.com"


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp() as server:
        yield server


@pytest.fixture
def smtp_app(database_url: str, smtp: FakeSmtp, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setenv("TOUCHPOINT_SMTP_URL", smtp.url)
    app = create_app(make_settings(database_url, sandbox="on"))
    yield app
    app.extensions["touchpoint"].engine.dispose()


def test_with_smtp_configured_the_lead_gets_a_real_mail_with_a_subject(smtp_app: Flask, smtp: FakeSmtp) -> None:
    from storage.apikeys import create_api_key

    rt: Runtime = smtp_app.extensions["touchpoint"]
    with rt.session() as session:
        auth = {"Authorization": f"Bearer {create_api_key(session, 'tests')}"}
    case_id = overdue_case(rt, smtp_app.test_client(), auth, lead_email=LEAD)
    tick(rt)
    [mail] = smtp.to(LEAD)
    assert mail["Subject"] == f"Overdue: case #{case_id} in Recovery"
    assert f"Case #{case_id} in Recovery is past its due time" in mail.get_body(("plain",)).get_content()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_channel(SUPPORT, "support")
        yield fake


@pytest.fixture
def slack_app(database_url: str, slack: FakeSlack, smtp: FakeSmtp, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    for name, value in {"SLACK_BOT_TOKEN": slack.token, "SLACK_SIGNING_SECRET": "secret",
                        "SLACK_API_BASE_URL": slack.base_url, "TOUCHPOINT_SMTP_URL": smtp.url}.items():
        monkeypatch.setenv(name, value)
    app = create_app(make_settings(database_url, sandbox="on"))
    yield app
    app.extensions["touchpoint"].close()


def test_a_breach_is_announced_on_the_queues_slack_channel_and_mailed_to_its_lead(
    slack_app: Flask, slack: FakeSlack, smtp: FakeSmtp
) -> None:
    from storage.apikeys import create_api_key

    rt: Runtime = slack_app.extensions["touchpoint"]
    with rt.session() as session:
        auth = {"Authorization": f"Bearer {create_api_key(session, 'tests')}"}
    case_id = overdue_case(rt, slack_app.test_client(), auth, lead_email=LEAD, slack_channel=SUPPORT)
    report = tick(rt)
    assert (report.sla_breached, report.escalated) == (1, 1)
    [card] = slack.messages(SUPPORT)
    blocks = json.dumps(card["blocks"])
    assert "*Ada Lovelace* answered NPS 2" in blocks and ":warning: overdue" in blocks
    [mail] = smtp.to(LEAD)
    assert mail["Subject"] == f"Overdue: case #{case_id} in Recovery"
