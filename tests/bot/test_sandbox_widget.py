"""Playing the web customer at /sandbox: `touchpoint demo` makes a widget site on the service's own origin,
and the sandbox's widget page embeds the real script, signed in as the picked customer with a hash the
sandbox computed on the server (sandbox only)."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bot.demo import load_demo
from bot.runtime import Runtime
from storage.models import Site
from storage.sites import site_by_key
from storage.types import utcnow
from tests.helpers import tick

SERVICE = "http://touchpoint.test"  # the tests' public URL: the origin the demo site allows


class AtService(FlaskClient):
    """A browser that reaches the service at its public URL (a Flask test client says http://localhost)."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        kwargs.setdefault("base_url", SERVICE)
        return super().open(*args, **kwargs)


@pytest.fixture
def page(app: Flask) -> FlaskClient:
    return AtService(app, app.response_class, use_cookies=True)


def demo_site(rt: Runtime) -> Site:
    with rt.session() as session:
        site = site_by_key(session, "demo")
        assert site is not None
        return site


def signed(site: Site, user_id: str) -> str:
    return hmac.new(site.secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def test_the_demo_creates_its_widget_site_once_and_the_sandbox_offers_it(
    rt: Runtime, page: FlaskClient, auth: dict[str, str]
) -> None:
    before = page.get("/sandbox").get_data(as_text=True)
    assert "Web widget" in before and "run <code>touchpoint demo</code>" in before
    assert "Open as this customer" not in before

    first = load_demo(rt)
    assert f"web widget: site demo created for {SERVICE}" in first
    second = load_demo(rt)
    assert f"web widget: site demo already there for {SERVICE}" in second

    sites = page.get("/api/v1/sites", headers=auth).get_json()["items"]
    assert [(s["key"], s["allowed_origins"]) for s in sites] == [("demo", [SERVICE])]

    after = page.get("/sandbox").get_data(as_text=True)
    assert "Open as this customer" in after and "touchpoint demo</code>, which creates" not in after
    assert '<option value="demo-katherine" selected>Katherine Johnson (demo-katherine)</option>' in after
    assert "will be refused here" not in after  # the page is on the origin the site allows


def test_the_widget_page_embeds_the_snippet_signed_for_the_customer(rt: Runtime, page: FlaskClient) -> None:
    load_demo(rt)
    site = demo_site(rt)

    shown = page.get("/sandbox/widget", query_string={"user": "demo-katherine"})
    assert shown.status_code == 200 and shown.mimetype == "text/html"
    html = shown.get_data(as_text=True)
    assert f'<script src="/widget/v1/touchpoint.js" data-key="{site.public_key}"></script>' in html
    [(user_id, given)] = re.findall(r'Touchpoint\.identify\("([^"]+)", \{hash: "([0-9a-f]{64})"\}\)', html)
    assert user_id == "demo-katherine" and given == signed(site, "demo-katherine")
    assert "Katherine Johnson (demo-katherine)" in html
    assert site.secret not in html

    identity = page.get("/sandbox/widget/identity", query_string={"user": "demo-ada"}).get_json()
    assert (identity["public_key"], identity["user_id"], identity["hash"]) == (
        site.public_key, "demo-ada", signed(site, "demo-ada"))
    assert identity["warning"] is None and "secret" not in identity

    # The widget's own endpoint accepts that hash from the sandbox page's origin.
    asked = page.post(f"/widget/v1/{site.public_key}/identify", headers={"Origin": SERVICE},
                      json={"user_id": "demo-katherine", "hash": given, "url": f"{SERVICE}/sandbox/widget"})
    assert asked.status_code == 200 and asked.get_json() == {"survey": None}  # the demo's survey is not due yet


def test_a_web_survey_is_answered_as_the_sandbox_customer(
    rt: Runtime, page: FlaskClient, auth: dict[str, str]
) -> None:
    load_demo(rt)
    site = demo_site(rt)
    an_hour_ago = (utcnow() - timedelta(hours=1)).isoformat()
    accepted = page.post("/api/v1/events", headers=auth, json={
        "type": "onboarding.completed", "idempotency_key": "web-1", "occurred_at": an_hour_ago,
        "contact": {"external_id": "sandbox:web", "name": "Sam Sandbox"}})
    assert [d["channel"] for d in accepted.get_json()["deliveries"]] == ["web"]
    assert page.get("/sandbox/widget/identity?user=sandbox:web").get_json()["waiting"] == 0
    tick(rt)

    identity = page.get("/sandbox/widget/identity?user=sandbox:web").get_json()
    assert identity["waiting"] == 1
    who = {"user_id": "sandbox:web", "hash": identity["hash"]}
    widget = f"/widget/v1/{site.public_key}"
    survey = page.post(f"{widget}/identify", headers={"Origin": SERVICE},
                       json={**who, "url": f"{SERVICE}/sandbox/widget"}).get_json()["survey"]
    assert survey["question"].startswith("Sam, how easy was it to get set up?")
    state = page.post(f"{widget}/answer", headers={"Origin": SERVICE},
                      json={**who, "token": survey["token"], "score": 6}).get_json()
    assert state["phase"] == "awaiting_comment"
    page.post(f"{widget}/comment", headers={"Origin": SERVICE},
              json={**who, "token": survey["token"], "text": "Smooth enough"})

    responses = page.get("/api/v1/responses", headers=auth, query_string={"flow": "onboarding-ces"}).get_json()
    [response] = responses["items"]
    assert (response["channel"], response["contact"]["external_id"], response["score"], response["comment"]) == (
        "web", "sandbox:web", 6, "Smooth enough")
    assert page.get("/sandbox/widget/identity?user=sandbox:web").get_json()["waiting"] == 0


def test_no_site_unknown_or_missing_customers_are_refused_with_a_reason(rt: Runtime, page: FlaskClient) -> None:
    for path in ("/sandbox/widget", "/sandbox/widget/identity"):
        missing = page.get(path, query_string={"user": "demo-katherine"})
        assert missing.status_code == 404 and missing.is_json
        assert missing.get_json()["error"]["code"] == "no_demo_site"
        assert "run `touchpoint demo`" in missing.get_json()["error"]["message"]

    load_demo(rt)
    for path in ("/sandbox/widget", "/sandbox/widget/identity"):
        unknown = page.get(path, query_string={"user": "sandbox:nobody"})
        assert unknown.status_code == 404 and unknown.is_json
        assert unknown.get_json()["error"] == {
            "code": "unknown_customer", "details": [],
            "message": "no customer has the id sandbox:nobody; send an event for them first"}
        empty = page.get(path)
        assert empty.status_code == 422 and empty.get_json()["error"]["message"] == "pick a customer first"


def test_a_sandbox_opened_on_another_origin_says_where_to_open_it(rt: Runtime, client: FlaskClient) -> None:
    load_demo(rt)
    warning = f"allows {SERVICE}, not http://localhost:8000, so the widget will be refused here: open the " \
              f"sandbox at {SERVICE}/sandbox"
    assert warning in client.get("/sandbox", base_url="http://localhost:8000").get_data(as_text=True)
    identity = client.get("/sandbox/widget/identity?user=demo-ada", base_url="http://localhost:8000").get_json()
    assert warning in identity["warning"]


def test_with_a_real_provider_on_the_sandbox_signs_in_nobody(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.app import create_app
    from tests.conftest import make_settings

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-real")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "real-secret")
    app = create_app(make_settings(database_url, sandbox="on"))  # email and SMS stay on the sandbox
    try:
        load_demo(app.extensions["touchpoint"])
        refused = AtService(app, app.response_class).get("/sandbox/widget/identity?user=demo-katherine")
        assert refused.status_code == 404 and "hash" not in refused.get_data(as_text=True)
    finally:
        app.extensions["touchpoint"].close()


def test_the_widget_is_opened_as_no_customer_but_the_sandbox_ones(
    rt: Runtime, page: FlaskClient, auth: dict[str, str]
) -> None:
    load_demo(rt)
    page.post("/api/v1/events", headers=auth, json={
        "type": "onboarding.completed", "idempotency_key": "real-web-1",
        "contact": {"external_id": "cust-1", "name": "Ada Lovelace"}})
    for path in ("/sandbox/widget", "/sandbox/widget/identity"):
        refused = page.get(path, query_string={"user": "cust-1"})
        assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "not_a_sandbox_customer"
        assert "hash" not in refused.get_data(as_text=True)
