"""FakeTwilio must look like api.twilio.com to the real ``twilio`` client.

Channel tests trust the fake, so these tests pin what the client really does against it: the URL it calls,
how it parses a created message, how errors and timeouts surface, and that our webhook signatures are the
ones Twilio's own RequestValidator accepts. No database, no network beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from werkzeug.datastructures import MultiDict

from tests.fakes.twilio_api import (
    FakeTwilio,
    inbound_sms_params,
    num_segments,
    sign,
    signed_post,
    status_callback_params,
)

SID = "AC" + "a" * 32
TOKEN = "test-auth-token"
FROM = "+15017250604"
TO = "+15558675310"
SERVICE = "MG" + "b" * 32
FIXTURES = Path(__file__).resolve().parents[1] / "channels" / "twilio" / "fixtures"

ClientFactory = Callable[..., Client]


@pytest.fixture(autouse=True)
def _no_edge_from_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    # Client() reads TWILIO_EDGE/TWILIO_REGION from os.environ and would rewrite 127.0.0.1 into 127.<edge>.0.0.1
    monkeypatch.delenv("TWILIO_EDGE", raising=False)
    monkeypatch.delenv("TWILIO_REGION", raising=False)


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(SID, TOKEN) as running:
        yield running


@pytest.fixture
def make_client(fake: FakeTwilio) -> Iterator[ClientFactory]:
    """Real twilio Clients built the way production code builds them, then redirected to the fake."""
    http_clients: list[TwilioHttpClient] = []

    def build(token: str = TOKEN, timeout: float = 5.0) -> Client:
        http_client = TwilioHttpClient(timeout=timeout)
        http_clients.append(http_client)
        client = Client(SID, token, http_client=http_client)
        client.api.base_url = fake.base_url
        return client

    yield build
    for http_client in http_clients:
        http_client.session.close()


def _send(client: Client, to: str = TO, **kwargs: str) -> object:
    kwargs.setdefault("from_", FROM)
    kwargs.setdefault("body", "How likely are you to recommend us? Reply 0-10")
    return client.messages.create(to=to, **kwargs)


def _fixture(name: str) -> dict[str, str]:
    return json.loads((FIXTURES / name).read_text())


# --- creating messages ----------------------------------------------------------------------------------------


def test_create_is_parsed_by_the_client_and_recorded(fake: FakeTwilio, make_client: ClientFactory) -> None:
    message = _send(make_client(), status_callback="https://bot.example/twilio/status")

    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert (message.status, message.direction, message.account_sid) == ("queued", "outbound-api", SID)
    assert (message.to, message.from_, message.messaging_service_sid) == (TO, FROM, None)
    assert isinstance(message.date_created, datetime) and message.date_created.tzinfo is not None
    assert (message.error_code, message.error_message, message.price, message.api_version) == (
        None, None, None, "2010-04-01",
    )  # fmt: skip
    assert message.uri == f"/2010-04-01/Accounts/{SID}/Messages/{message.sid}.json"

    [request] = fake.requests
    assert (request.method, request.path, request.status) == ("POST", f"/2010-04-01/Accounts/{SID}/Messages.json", 201)
    assert request.params == {
        "To": TO, "From": FROM, "Body": message.body, "StatusCallback": "https://bot.example/twilio/status",
    }  # fmt: skip
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert [(sent.sid, sent.params["To"]) for sent in fake.sent] == [(message.sid, TO)]


def test_messaging_service_with_template_is_accepted_without_from(fake: FakeTwilio, make_client: ClientFactory) -> None:
    message = make_client().messages.create(
        to=TO, messaging_service_sid=SERVICE, content_sid="HX" + "c" * 32, content_variables='{"1": "Ana"}'
    )

    assert (message.status, message.from_, message.messaging_service_sid) == ("accepted", None, SERVICE)
    assert fake.sent[0].params["ContentVariables"] == '{"1": "Ana"}'


@pytest.mark.parametrize(
    ("kwargs", "code", "text"),
    [
        ({"to": ""}, 21604, "A 'To' phone number is required."),
        ({"from_": ""}, 21603, "A 'From' phone number is required."),
        ({"body": ""}, 21602, "Message body is required."),
    ],
)
def test_invalid_create_is_rejected_like_twilio(
    fake: FakeTwilio, make_client: ClientFactory, kwargs: dict[str, str], code: int, text: str
) -> None:
    with pytest.raises(TwilioRestException) as caught:
        _send(make_client(), **kwargs)

    assert (caught.value.status, caught.value.code) == (400, code)
    assert caught.value.msg == f"Unable to create record: {text}"
    assert fake.sent == []


def test_wrong_token_is_401_authenticate(fake: FakeTwilio, make_client: ClientFactory) -> None:
    with pytest.raises(TwilioRestException) as caught:
        _send(make_client(token="wrong"))

    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert "Authenticate" in caught.value.msg
    assert fake.requests[-1].response["more_info"] == "https://www.twilio.com/docs/errors/20003"
    assert fake.sent == []


def test_unknown_api_path_is_404_with_twilio_error_json(fake: FakeTwilio) -> None:
    response = requests.post(f"{fake.base_url}/2010-04-01/Accounts/{SID}/Nope.json", auth=(SID, TOKEN), timeout=5)

    assert response.status_code == 404
    assert response.json()["code"] == 20404


# --- programmed failures --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "text"),
    [
        (429, 20429, "Too Many Requests"),
        (400, 21610, "Attempt to send to unsubscribed recipient"),
        (400, 21211, f"The 'To' number {TO} is not a valid phone number."),
        (400, 21614, "'To' number is not a valid mobile number"),
        (500, 20500, "Internal Server Error"),
    ],
)
def test_fail_next_surfaces_as_rest_exception_then_recovers(
    fake: FakeTwilio, make_client: ClientFactory, status: int, code: int, text: str
) -> None:
    client = make_client()
    fake.fail_next(1, status=status, code=code)

    with pytest.raises(TwilioRestException) as caught:
        _send(client)
    assert (caught.value.status, caught.value.code, caught.value.msg) == (
        status, code, f"Unable to create record: {text}",
    )  # fmt: skip

    assert _send(client).status == "queued"
    assert [request.status for request in fake.requests] == [status, 201]


def test_fail_next_counts_down_and_sends_retry_after(fake: FakeTwilio, make_client: ClientFactory) -> None:
    client = make_client()
    fake.fail_next(2, code=20429, retry_after=7)

    for _ in range(2):
        with pytest.raises(TwilioRestException):
            _send(client)
    _send(client)

    # the client's exception has no headers; Retry-After is only visible on the wire
    assert [request.response_headers.get("Retry-After") for request in fake.requests] == ["7", "7", None]


def test_retry_after_is_an_http_header(fake: FakeTwilio) -> None:
    fake.fail_next(1, code=20429, retry_after=3)
    data = {"To": TO, "From": FROM, "Body": "x"}

    response = requests.post(fake.messages_url, data=data, auth=(SID, TOKEN), timeout=5)

    assert (response.status_code, response.headers["Retry-After"]) == (429, "3")
    assert response.json() == {
        "code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429",
        "status": 429,
    }  # fmt: skip


def test_fail_for_applies_only_to_that_number(fake: FakeTwilio, make_client: ClientFactory) -> None:
    client = make_client()
    blocked = "+15550001111"
    fake.fail_for(blocked, 400, 21610, "Attempt to send to unsubscribed recipient")

    for _ in range(2):  # a standing rule, not a one-shot
        with pytest.raises(TwilioRestException) as caught:
            _send(client, to=blocked)
        assert caught.value.code == 21610
    assert _send(client).status == "queued"
    assert [sent.params["To"] for sent in fake.sent] == [TO]


def test_hang_next_trips_the_client_timeout(fake: FakeTwilio, make_client: ClientFactory) -> None:
    client = make_client(timeout=0.2)
    fake.hang_next(1, 5.0)

    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):  # ReadTimeout: twilio does not wrap it
        _send(client)
    assert time.monotonic() - started < 2

    assert _send(client).status == "queued"


def test_reset_forgets_everything(fake: FakeTwilio, make_client: ClientFactory) -> None:
    client = make_client()
    _send(client)
    fake.fail_next(3)
    fake.fail_for(TO)
    fake.hang_next(1, 5.0)

    fake.reset()

    assert (fake.requests, fake.sent) == ([], [])
    assert _send(client).status == "queued"


def test_concurrent_sends_are_all_recorded(fake: FakeTwilio, make_client: ClientFactory) -> None:
    clients = [make_client() for _ in range(8)]
    threads = [threading.Thread(target=_send, args=(client,)) for client in clients for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({sent.sid for sent in fake.sent}) == len(fake.requests) == 24


def test_client_helper_ignores_edge_in_environment(fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_EDGE", "sydney")

    assert _send(fake.client()).status == "queued"


def test_num_segments_follows_gsm7_and_ucs2_limits() -> None:
    assert [num_segments("a" * 160), num_segments("a" * 161), num_segments("€" * 80)] == [1, 2, 1]
    assert [num_segments("é" * 160), num_segments("ą" * 70), num_segments("ą" * 71)] == [1, 1, 2]


# --- webhook payloads and signatures --------------------------------------------------------------------------


def test_inbound_sms_params_match_the_fixture() -> None:
    fixture = _fixture("inbound_sms.assembled_from_docs.json")

    params = inbound_sms_params(
        fixture["From"], fixture["To"], fixture["Body"], fixture["MessageSid"], account_sid=fixture["AccountSid"]
    )

    assert params == fixture


def test_inbound_sms_params_extra_fields() -> None:
    params = inbound_sms_params(FROM, TO, "STOP", messaging_service_sid=SERVICE, OptOutType="STOP")

    assert (params["MessagingServiceSid"], params["OptOutType"]) == (SERVICE, "STOP")
    assert params["MessageSid"] == params["SmsSid"] == params["SmsMessageSid"]


def test_status_callback_params_cover_the_fixture() -> None:
    fixture = _fixture("status_callback_sent.docs_verbatim.json")

    params = status_callback_params(
        fixture["MessageSid"], "sent", to=TO, from_=fixture["From"], account_sid=fixture["AccountSid"]
    )

    assert fixture.items() <= params.items()
    assert (params["To"], params["ApiVersion"], "ErrorCode" in params) == (TO, "2010-04-01", False)
    assert status_callback_params("SM1", "undelivered", 30003)["ErrorCode"] == "30003"


def test_sign_matches_twilio_python_vectors() -> None:
    vectors = (FIXTURES / "signature_vectors.md").read_text()
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {"CallSid": "CA1234567890ABCDE", "Digits": "1234", "From": "+14158675309", "To": "+18005551212"}
    params["Caller"] = "+14158675309"
    duplicates = MultiDict([("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")])
    duplicates.add("Digits", "1234")

    assert sign(url, params, "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert sign(url, duplicates, "12345") == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    assert "`RSOYDt4T1cUTdK1PDd93/VVr8B8=`" in vectors and "`IK+Dwps556ElfBT0I3Rgjkr1wJU=`" in vectors


def test_validator_accepts_sign_and_rejects_tampering() -> None:
    url = "https://bot.example/twilio/sms?tenant=1"
    params = inbound_sms_params(FROM, TO, "9")
    validator = RequestValidator(TOKEN)
    signature = sign(url, params, TOKEN)

    assert validator.validate(url, params, signature)
    assert not validator.validate(url, {**params, "Body": "10"}, signature)
    assert not validator.validate(url.replace("https", "http"), params, signature)
    assert not RequestValidator("other").validate(url, params, signature)


def test_signed_post_sends_a_valid_signature(fake: FakeTwilio) -> None:
    url = f"{fake.base_url}/hooks/sms?tenant=1"
    params = inbound_sms_params(FROM, TO, "7")

    response = signed_post(url, params, TOKEN)

    assert response.status_code == 404  # the fake has no webhook route; it only records
    [request] = fake.requests
    assert (request.path, request.query, request.params) == ("/hooks/sms", "tenant=1", params)
    assert RequestValidator(TOKEN).validate(url, request.params, request.headers["X-Twilio-Signature"])


def test_deliver_status_posts_signed_callback_to_status_callback_url(
    fake: FakeTwilio, make_client: ClientFactory
) -> None:
    callback = f"{fake.base_url}/hooks/status"
    message = make_client().messages.create(to=TO, messaging_service_sid=SERVICE, body="hi", status_callback=callback)

    fake.deliver_status(message.sid, "undelivered", 30003)

    request = fake.requests[-1]
    assert request.path == "/hooks/status"
    assert (request.params["MessageSid"], request.params["MessageStatus"], request.params["ErrorCode"]) == (
        message.sid, "undelivered", "30003",
    )  # fmt: skip
    assert (request.params["To"], request.params["MessagingServiceSid"], request.params["AccountSid"]) == (
        TO, SERVICE, SID,
    )  # fmt: skip
    assert RequestValidator(TOKEN).validate(callback, request.params, request.headers["X-Twilio-Signature"])
