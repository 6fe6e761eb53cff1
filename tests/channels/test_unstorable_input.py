"""Text the database cannot store (NUL, lone surrogates) and JSON nested past Python's limit, outside the API.

Our own JSON endpoints (the widget) refuse it with a 4xx naming the field. A customer's words relayed by a
provider (SMS, email) or typed on a survey page are kept with NUL removed: refusing them would lose the answer,
and a provider would retry for ever. Nothing here is ever a 500, on either database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from bot.app import create_app
from bot.runtime import Runtime
from storage.apikeys import create_api_key
from storage.models import Delivery, Message, Response
from tests.channels.web.test_widget import ADA, ORIGIN, Widget, error_of, make_site, queued_survey, web_flow
from tests.conftest import make_settings
from tests.fakes.twilio_api import FakeTwilio, inbound_sms_params, sign
from tests.helpers import event, flow_yaml, install_flow, tick

SECRET = "hook-secret"
REPLY_DOMAIN = "in.shop.example.com"
OUR_NUMBER = "+15017250604"
DEEP = "[" * 5000 + "]" * 5000


def responses(rt: Runtime) -> list[tuple[int | None, str | None]]:
    with rt.session() as session:
        return [(r.score, r.comment) for r in session.exec(select(Response))]


def inbound_texts(rt: Runtime) -> list[str]:
    with rt.session() as session:
        return [m.text for m in session.exec(select(Message).where(Message.direction == "in"))]


# The widget: our own JSON endpoints, so a 422 naming the field.


@pytest.mark.parametrize(
    ("path", "fields", "field"),
    [
        ("identify", {"attributes": {"plan": "pro\u0000"}}, "attributes.plan"),
        ("identify", {"attributes": {"plan": "\ud800"}}, "attributes.plan"),
        ("identify", {"url": f"{ORIGIN}/a\u0000"}, "url"),
        ("track", {"event": "feature.used", "id": "abcdef0123456789", "properties": {"note": "x\u0000"}},
         "properties.note"),
        ("answer", {"token": "t\u0000", "score": 3}, "token"),
        ("comment", {"token": "t", "text": "slow\u0000"}, "text"),
    ],
)
def test_the_widget_refuses_unstorable_text_naming_the_field(
    rt: Runtime, client: FlaskClient, path: str, fields: dict, field: str
) -> None:
    site = make_site(rt)
    widget = Widget(client, site.public_key, site.secret)
    assert error_of(widget.call(path, **fields)) == (422, "invalid", [field])


def test_the_widget_refuses_a_nul_user_id_and_deep_json_and_an_unknown_key(rt: Runtime, client: FlaskClient) -> None:
    site = make_site(rt)
    widget = Widget(client, site.public_key, site.secret)
    assert error_of(widget.call("identify", user_id="ada\u0000")) == (422, "invalid", ["user_id"])
    url = f"/widget/v1/{site.public_key}/identify"
    deep = client.post(url, data=DEEP, headers={"Origin": ORIGIN, "Content-Type": "application/json"})
    assert error_of(deep)[:2] == (400, "malformed_json")
    nan = client.post(url, data='{"user_id": "a", "hash": "b", "attributes": {"n": NaN}}',
                      headers={"Origin": ORIGIN, "Content-Type": "application/json"})
    assert error_of(nan)[:2] == (400, "malformed_json")
    assert error_of(client.post("/widget/v1/pk%00/identify", json={}, headers={"Origin": ORIGIN}))[:2] == (
        404, "not_found")


def test_a_widget_answer_with_nul_is_refused_and_a_clean_one_still_counts(
    rt: Runtime, client: FlaskClient, auth: dict
) -> None:
    install_flow(rt, web_flow(ask="never"))
    site = make_site(rt)
    widget = Widget(client, site.public_key, site.secret)
    queued_survey(rt, client, auth)
    token = widget.identify(ADA)["token"]
    assert error_of(widget.call("answer", token=token + "\u0000", score=9)) == (422, "invalid", ["token"])
    assert widget.call("answer", token=token, score=9).status_code == 200
    assert responses(rt) == [(9, None)]


# Email: the survey page's comment, and replies through the providers' inbound webhooks.


@pytest.fixture
def email_app(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setenv("TOUCHPOINT_EMAIL_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TOUCHPOINT_EMAIL_REPLY_DOMAIN", REPLY_DOMAIN)
    app = create_app(make_settings(database_url))
    yield app
    app.extensions["touchpoint"].close()


def email_survey(app: Flask, ask: str = "always") -> str:
    rt: Runtime = app.extensions["touchpoint"]
    install_flow(rt, flow_yaml("email-nps", channels="[email]", ask=ask))
    with rt.session() as session:
        key = create_api_key(session, "tests")
    body = event(contact={"external_id": "ada", "name": "Ada", "email": "ada@example.com"})
    assert app.test_client().post("/api/v1/events", json=body,
                                  headers={"Authorization": f"Bearer {key}"}).status_code == 202
    tick(rt)
    with rt.session() as session:
        return session.exec(select(Delivery)).one().token


def test_a_comment_with_nul_on_the_survey_page_is_kept_without_it(email_app: Flask) -> None:
    client, rt = email_app.test_client(), email_app.extensions["touchpoint"]
    token = email_survey(email_app)
    assert client.post(f"/s/{token}/answer", data={"score": "3"}).status_code == 200
    done = client.post(f"/s/{token}/comment", data={"comment": "the parcel\u0000 was late"})
    assert done.status_code == 200 and 'data-state="done"' in done.get_data(as_text=True)
    assert responses(rt) == [(3, "the parcel was late")]


@pytest.mark.parametrize("path", ["/s/a%00b/5", "/s/a%00b/unsubscribe"])
def test_a_survey_link_with_nul_is_not_found(email_app: Flask, path: str) -> None:
    assert email_app.test_client().get(path).status_code == 404
    assert email_app.test_client().post(path.replace("/5", "/answer"), data={"score": "5"}).status_code == 404


def test_an_emailed_reply_with_nul_is_recorded_without_it(email_app: Flask) -> None:
    client, rt = email_app.test_client(), email_app.extensions["touchpoint"]
    token = email_survey(email_app, ask="never")
    form = {"from": "Ada <ada@example.com>", "to": f"reply+{token}@{REPLY_DOMAIN}", "subject": "Re: \u0000survey",
            "text": "9\u0000\n> How likely are you to recommend us?", "headers": "Message-ID: <m1\u0000@example.com>\n"}
    answered = client.post("/webhooks/email/inbound/sendgrid", query_string={"secret": SECRET}, data=form)
    assert answered.status_code == 200
    assert responses(rt) == [(9, None)]
    assert inbound_texts(rt) == ["9"]


def test_a_postmark_reply_with_nul_and_a_lone_surrogate_is_recorded(email_app: Flask) -> None:
    client, rt = email_app.test_client(), email_app.extensions["touchpoint"]
    token = email_survey(email_app, ask="never")
    body = ('{"FromFull": {"Email": "ada@example.com"}, "ToFull": [{"Email": "reply+' + token + '@' + REPLY_DOMAIN
            + '"}], "Subject": "Re: \\ud800", "TextBody": "8\\u0000", "MessageID": "pm-1",'
            ' "Headers": [{"Name": "X-\\u0000", "Value": "\\udfff"}]}')
    answered = client.post("/webhooks/email/inbound/postmark", query_string={"secret": SECRET}, data=body,
                           content_type="application/json")
    assert answered.status_code == 200
    assert responses(rt) == [(8, None)]


@pytest.mark.parametrize("kind", ["inbound", "events"])
@pytest.mark.parametrize("provider", ["postmark", "sendgrid", "mailgun"])
def test_deep_json_to_an_email_webhook_is_a_4xx(email_app: Flask, kind: str, provider: str) -> None:
    response = email_app.test_client().post(f"/webhooks/email/{kind}/{provider}", query_string={"secret": SECRET},
                                            data=DEEP, content_type="application/json")
    assert response.status_code in (403, 422) if provider == "mailgun" else response.status_code == 422
    if response.status_code == 422:
        assert json.loads(response.get_data(as_text=True))["error"]["message"]


def test_an_email_event_with_nul_is_taken_without_a_500(email_app: Flask) -> None:
    body = [{"email": "ada@example.com", "event": "bounce", "type": "bounce", "reason": "550\u0000",
             "sg_message_id": "x\u0000y", "smtp-id": "<a\u0000@b>", "timestamp": 1700000000}]
    response = email_app.test_client().post("/webhooks/email/events/sendgrid", query_string={"secret": SECRET},
                                            json=body)
    assert response.status_code == 200


# SMS: Twilio's signed inbound webhook.


@pytest.fixture
def sms_app(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Flask, FakeTwilio]]:
    twilio = FakeTwilio().start()
    for name, value in {"TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
                        "TWILIO_FROM": OUR_NUMBER, "TWILIO_API_BASE_URL": twilio.base_url,
                        "TWILIO_MPS": "50"}.items():
        monkeypatch.setenv(name, value)
    app = create_app(make_settings(database_url))
    yield app, twilio
    app.extensions["touchpoint"].close()
    twilio.stop()


def signed_sms(client: FlaskClient, params: dict[str, Any], auth_token: str) -> Any:
    url = "http://touchpoint.test/webhooks/twilio/sms"
    return client.post(url, data=params, headers={"X-Twilio-Signature": sign(url, params, auth_token)})


def test_an_sms_answer_with_nul_is_recorded_without_it(sms_app: tuple[Flask, FakeTwilio]) -> None:
    app, twilio = sms_app
    rt: Runtime = app.extensions["touchpoint"]
    client = app.test_client()
    install_flow(rt, flow_yaml("sms-nps", channels="[sms]"))
    with rt.session() as session:
        key = create_api_key(session, "tests")
    body = event(contact={"external_id": "ada", "name": "Ada", "phone": "+447911123456"})
    assert client.post("/api/v1/events", json=body, headers={"Authorization": f"Bearer {key}"}).status_code == 202
    tick(rt)
    assert len(twilio.sent) == 1
    answer = signed_sms(client, inbound_sms_params("+447911123456", OUR_NUMBER, "3\u0000"), twilio.auth_token)
    assert answer.status_code == 200 and "What went wrong?" in answer.get_data(as_text=True)
    comment = inbound_sms_params("+447911123456", OUR_NUMBER, "the \u0000courier was rude")
    assert signed_sms(client, comment, twilio.auth_token).status_code == 200
    assert responses(rt) == [(3, "the courier was rude")]
    assert inbound_texts(rt) == ["3", "the courier was rude"]


def test_an_sms_from_a_stranger_with_nul_is_stored_without_it(sms_app: tuple[Flask, FakeTwilio]) -> None:
    app, twilio = sms_app
    params = inbound_sms_params("+447911000000\u0000", OUR_NUMBER, "hello\u0000")
    assert signed_sms(app.test_client(), params, twilio.auth_token).status_code == 200
    assert inbound_texts(app.extensions["touchpoint"]) == ["hello"]
