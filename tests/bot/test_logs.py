"""No personal data, secret or token reaches a log line or an exception's text."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from bot.app import create_app
from bot.ingest import ingest_event
from bot.inputs import EventIn, new_event
from bot.runtime import Runtime
from bot.settings import Settings
from tests.fakes.twilio_api import FakeTwilio
from tests.helpers import event, flow_yaml, install_flow, tick

NAME, EMAIL, PHONE = "Grace Hopper", "grace.hopper@example.com", "+447400123456"
PERSONAL = (NAME, EMAIL, PHONE, PHONE.removeprefix("+"))


def contact(external_id: str) -> dict[str, str]:
    return {"external_id": external_id, "name": NAME, "email": EMAIL, "phone": PHONE}


@pytest.fixture
def one_contact_per_phone(rt: Runtime) -> Iterator[None]:
    """A unique index the ingestion does not expect: a second contact with the same phone is a real
    constraint violation in the middle of an event."""
    with rt.engine.begin() as conn:
        conn.execute(sa.text("CREATE UNIQUE INDEX one_contact_per_phone ON contact_address (kind, address)"))
    yield
    with rt.engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX one_contact_per_phone"))


def test_a_database_error_during_an_event_carries_no_contact_data(
    rt: Runtime, one_contact_per_phone: None
) -> None:
    install_flow(rt, flow_yaml())
    ingest_event(rt, new_event(EventIn.model_validate(event("evt-1", contact=contact("cust-1")))))

    with pytest.raises(sa.exc.IntegrityError) as raised:
        ingest_event(rt, new_event(EventIn.model_validate(event("evt-2", contact=contact("cust-2")))))

    text = "".join(traceback.format_exception(raised.value))
    assert "contact" in text  # the error still says what failed
    for value in PERSONAL:
        assert value not in text


def test_the_api_logs_a_failed_event_without_the_contacts_data(
    app: Flask, client: FlaskClient, rt: Runtime, auth: dict[str, str], one_contact_per_phone: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app.testing = False  # a production app logs the exception and answers 500
    caplog.set_level(logging.DEBUG)
    install_flow(rt, flow_yaml())
    first = client.post("/api/v1/events", json=event("evt-1", contact=contact("cust-1")), headers=auth)
    assert first.status_code == 202

    failed = client.post("/api/v1/events", json=event("evt-2", contact=contact("cust-2")), headers=auth)

    assert failed.status_code == 500
    assert "IntegrityError" in caplog.text
    for value in PERSONAL:
        assert value not in caplog.text


TELEGRAM_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # the shape of the Bot API's documented example


def test_a_comment_or_address_in_a_log_line_of_any_library_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    from bot.logs import install_masking

    install_masking("configured-secret-value")
    caplog.set_level(logging.DEBUG)
    logging.getLogger("any.library").info("GET /s/%s/answer?secret=%s&channel=sms to %s <%s> key %s",
                                          "tok3n-ABC", "configured-secret-value", PHONE, EMAIL, "tp_abcdefghijklmnop")
    logging.getLogger("urllib3").debug('POST /bot%s/sendMessage HTTP/1.1" 200', TELEGRAM_TOKEN)
    try:
        raise ValueError(f"refused {EMAIL} and {PHONE}")
    except ValueError:
        logging.getLogger("any.library").exception("sending failed")

    for value in (*PERSONAL, "tok3n-ABC", "configured-secret-value", "abcdefghijklmnop", TELEGRAM_TOKEN[8:]):
        assert value not in caplog.text
    assert "/s/***/answer?secret=***&channel=sms" in caplog.text and "ValueError: refused" in caplog.text


@pytest.fixture
def twilio_app(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeTwilio, Runtime]]:
    """The real Twilio client against a Twilio-like API, as production builds it from the environment."""
    with FakeTwilio() as twilio:
        for name, value in {"TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
                            "TWILIO_FROM": "+15017250604", "TWILIO_API_BASE_URL": twilio.base_url}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("TWILIO_EDGE", raising=False)
        monkeypatch.delenv("TWILIO_REGION", raising=False)
        app = create_app(settings)
        yield twilio, app.extensions["touchpoint"]
        app.extensions["touchpoint"].close()


def test_a_survey_sent_through_twilio_logs_neither_the_customer_nor_the_account(
    twilio_app: tuple[FakeTwilio, Runtime], caplog: pytest.LogCaptureFixture
) -> None:
    twilio, rt = twilio_app
    caplog.set_level(logging.INFO)
    install_flow(rt, flow_yaml(channels="[sms]"))
    ingest_event(rt, new_event(EventIn.model_validate(event("evt-1", contact=contact("cust-1")))))

    assert tick(rt).sent == 1 and twilio.sent[0].params["To"] == PHONE

    for value in (*PERSONAL, twilio.account_sid, twilio.auth_token):
        assert value not in caplog.text
