"""/app/admin/settings: the retention of answers' personal data, stored in the database over the environment's
value, audited, and applied by the worker's retention pass."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from bot.app import create_app
from bot.retention import apply_retention
from bot.runtime import Runtime
from storage.models import AuditEntry, Response, Role
from storage.types import utcnow
from tests.conftest import make_settings
from tests.web_client import add_user, sign_in, submit, unnamed_controls

ADMIN, AGENT = "admin@example.com", "agent@example.com"
PAGE = "/app/admin/settings"


@pytest.fixture
def app(database_url: str) -> Flask:
    app = create_app(make_settings(database_url, retain_text_days=90))
    yield app
    app.extensions["touchpoint"].close()


@pytest.fixture
def admin(client: FlaskClient, rt: Runtime) -> FlaskClient:
    sign_in(client, ADMIN, add_user(rt, ADMIN, Role.ADMIN))
    return client


def answer_with_comment(rt: Runtime, client: FlaskClient) -> None:
    from storage.apikeys import create_api_key
    from tests.helpers import event, flow_yaml, install_flow, tick

    with rt.session() as session:
        auth = {"Authorization": f"Bearer {create_api_key(session, 'tests')}"}
    install_flow(rt, flow_yaml(ask="never"))
    client.post("/api/v1/events", json=event(), headers=auth)
    tick(rt)
    client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": "+447911123456",
                                                 "text": "7 slow delivery"}, headers=auth)


def comments(rt: Runtime) -> list[str | None]:
    with rt.session() as session:
        return [r.comment for r in session.exec(select(Response))]


def test_a_stored_period_overrides_the_environment_and_the_worker_applies_it(
        admin: FlaskClient, rt: Runtime) -> None:
    html = admin.get(PAGE).get_data(as_text=True)
    assert "<strong>90 days</strong>" in html and "from TOUCHPOINT_RETAIN_TEXT_DAYS" in html
    assert unnamed_controls(html) == []
    answer_with_comment(rt, admin)
    saved = submit(admin, PAGE, PAGE, {"days": "10"}, follow_redirects=True).get_data(as_text=True)
    assert "<strong>10 days</strong>" in saved and "set here" in saved and 'value="10"' in saved
    assert apply_retention(rt, utcnow() + timedelta(days=5)).texts == 0
    assert comments(rt) == ["slow delivery"]
    assert apply_retention(rt, utcnow() + timedelta(days=11)).texts > 0
    assert comments(rt) == [None]

    cleared = submit(admin, PAGE, PAGE, {"days": ""}, follow_redirects=True).get_data(as_text=True)
    assert "<strong>90 days</strong>" in cleared
    with rt.session() as session:
        audited = [(a.actor, a.object_key, a.detail) for a in session.exec(
            select(AuditEntry).where(AuditEntry.kind == "settings").order_by(AuditEntry.id)).all()]  # type: ignore[arg-type]
    assert audited == [(ADMIN, "retain_text_days", {"before": None, "after": 10}),
                       (ADMIN, "retain_text_days", {"before": 10, "after": None})]


def test_a_bad_period_is_named_inline_and_nothing_changes(admin: FlaskClient) -> None:
    for value, status in (("ten", 422), ("0", 422), ("99999", 422), ("<b>", 422)):
        answer = submit(admin, PAGE, PAGE, {"days": value})
        html = answer.get_data(as_text=True)
        assert answer.status_code == status, value
        assert "Days must be a whole number of days from 1 to 3650" in html
    assert 'value="&lt;b&gt;"' in submit(admin, PAGE, PAGE, {"days": "<b>"}).get_data(as_text=True)
    assert admin.post(PAGE, data={"days": "5"}).status_code == 400
    assert "<strong>90 days</strong>" in admin.get(PAGE).get_data(as_text=True)


def test_agents_get_403(client: FlaskClient, rt: Runtime) -> None:
    sign_in(client, AGENT, add_user(rt, AGENT))
    assert client.get(PAGE).status_code == 403
    assert submit(client, "/app/cases", PAGE, {"days": "1"}).status_code == 403
