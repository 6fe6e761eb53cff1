"""A local HTTP server that answers like Twilio's Messages API, for tests.

Why: the SMS channel talks to Twilio through the official ``twilio`` client. Mocking that client hides what
breaks in production (URL shape, Basic auth, Twilio's error JSON, 429/Retry-After, timeouts), and the real API
costs money and needs credentials. This fake speaks HTTP the way api.twilio.com does for creating messages, so
the real client can be pointed at it with ``client.api.base_url = fake.base_url``.

It also builds the requests Twilio makes to *our* server (status callbacks, inbound SMS) and signs them with
``X-Twilio-Signature``, so webhook endpoints can be tested with the same signature check production uses.
"""

from __future__ import annotations

import base64
import hmac
import math
import re
import threading
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fakes.json_server import JsonServer, Reply

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "1" * 32
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token"
DEFAULT_TO = "+15558675310"
DEFAULT_FROM = "+15017250604"
MESSAGES_PATH = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account_sid>[^/]+)/Messages\.json$")

# code -> (HTTP status, message as Twilio words it; "{to}" and "{path}" are filled in)
KNOWN_ERRORS: dict[int, tuple[int, str]] = {
    20003: (401, "Authenticate"),
    20004: (405, "Method not allowed"),
    20404: (404, "The requested resource {path} was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "Internal Server Error"),
    21211: (400, "The 'To' number {to} is not a valid phone number."),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
}

_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request the fake answered (any path), with the status it answered with."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    status: int
    query: str = ""
    multi_params: dict[str, list[str]] = field(default_factory=dict)
    response: dict[str, Any] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SentMessage:
    """A message the fake accepted (HTTP 201)."""

    sid: str
    params: dict[str, str]
    resource: dict[str, Any]


@dataclass(frozen=True)
class Failure:
    """An error response the fake will give instead of creating a message."""

    status: int
    code: int
    message: str
    retry_after: int | None = None


def new_sid(prefix: str = "SM") -> str:
    """A Twilio-style SID: two-letter prefix plus 32 lowercase hex characters."""
    return prefix + uuid.uuid4().hex


def make_failure(
    status: int | None = None, code: int = 20500, message: str | None = None, retry_after: int | None = None
) -> Failure:
    """Build a Failure; status and message default to what Twilio uses for ``code``."""
    known_status, known_message = KNOWN_ERRORS.get(code, (400, f"Error {code}"))
    return Failure(status or known_status, code, message or known_message, retry_after)


def error_body(status: int, code: int, message: str) -> dict[str, Any]:
    """Twilio's legacy error JSON, which the python client turns into TwilioRestException."""
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    if code == 20003:
        body["detail"] = "Your AccountSid or AuthToken was incorrect."
    return body


def num_segments(body: str) -> int:
    """SMS segments: GSM-7 fits 160 (153 when split), anything else is UCS-2 with 70 (67)."""
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENDED for ch in body):
        length = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in body)
        single, part = 160, 153
    else:
        length = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if length <= single else math.ceil(length / part)


def status_callback_params(
    message_sid: str,
    status: str,
    error_code: int | str | None = None,
    to: str = DEFAULT_TO,
    from_: str = DEFAULT_FROM,
    account_sid: str = DEFAULT_ACCOUNT_SID,
    messaging_service_sid: str | None = None,
) -> dict[str, str]:
    """The form fields Twilio POSTs to a message's StatusCallback URL."""
    params = {
        "AccountSid": account_sid,
        "From": from_,
        "MessageSid": message_sid,
        "MessageStatus": status,
        "SmsSid": message_sid,
        "SmsStatus": status,
        "To": to,
        "ApiVersion": API_VERSION,
    }
    if messaging_service_sid:
        params["MessagingServiceSid"] = messaging_service_sid
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    return params


def inbound_sms_params(
    from_: str,
    to: str,
    body: str,
    message_sid: str | None = None,
    *,
    account_sid: str = DEFAULT_ACCOUNT_SID,
    messaging_service_sid: str | None = None,
    **extra: str,
) -> dict[str, str]:
    """The form fields Twilio POSTs to a number's incoming-message webhook; ``extra`` adds or overrides."""
    sid = message_sid or new_sid("SM")
    params = {
        "ToCountry": "US", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "", "FromZip": "",
        "SmsSid": sid, "FromState": "", "SmsStatus": "received", "FromCity": "", "Body": body,
        "FromCountry": "US", "To": to, "ToZip": "", "NumSegments": str(num_segments(body)), "MessageSid": sid,
        "AccountSid": account_sid, "From": from_, "ApiVersion": API_VERSION,
    }  # fmt: skip
    if messaging_service_sid:
        params["MessagingServiceSid"] = messaging_service_sid
    params.update(extra)
    return params


def sign(url: str, params: Mapping[str, Any], auth_token: str) -> str:
    """The X-Twilio-Signature Twilio would send for a form POST of ``params`` to ``url``."""
    return RequestValidator(auth_token).compute_signature(url, params)


def signed_post(
    url: str,
    params: Mapping[str, str],
    auth_token: str,
    session: requests.Session | None = None,
    **kwargs: Any,
) -> requests.Response:
    """POST ``params`` form-encoded to ``url`` the way Twilio does, with a valid X-Twilio-Signature."""
    headers = {"User-Agent": "TwilioProxy/1.1", "X-Twilio-Signature": sign(url, params, auth_token)}
    headers.update(kwargs.pop("headers", None) or {})
    kwargs.setdefault("timeout", 10)
    if session is not None:
        return session.post(url, data=dict(params), headers=headers, **kwargs)
    with requests.Session() as own:
        return own.post(url, data=dict(params), headers=headers, **kwargs)


class FakeTwilio:
    """Twilio's Messages API on 127.0.0.1, in a daemon thread. Use as a context manager."""

    def __init__(self, account_sid: str = DEFAULT_ACCOUNT_SID, auth_token: str = DEFAULT_AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._requests: list[RecordedRequest] = []
        self._sent: list[SentMessage] = []
        self._failures: deque[Failure] = deque()
        self._rules: dict[str, Failure] = {}
        self._hangs: deque[float] = deque()
        self._http_clients: list[TwilioHttpClient] = []
        self._server: JsonServer | None = None

    # lifecycle -------------------------------------------------------------------------------------------------
    def start(self) -> FakeTwilio:
        self._closing.clear()
        self._server = JsonServer(self, "fake-twilio")
        return self

    def stop(self) -> None:
        self._closing.set()  # wakes any hung handler so shutdown is quick
        if self._server is not None:
            self._server.stop()
        for http_client in self._http_clients:
            if http_client.session is not None:
                http_client.session.close()
        self._server = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeTwilio is not running; use it as a context manager or call start()")
        return f"http://127.0.0.1:{self._server.port}"

    @property
    def messages_url(self) -> str:
        return f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    def client(self, timeout: float | None = 5.0, auth_token: str | None = None) -> Client:
        """A real twilio Client aimed at this fake; its HTTP session is closed when the fake stops.

        ``environment`` is passed explicitly so TWILIO_EDGE / TWILIO_REGION in the shell cannot rewrite the host.
        """
        http_client = TwilioHttpClient(timeout=timeout)
        self._http_clients.append(http_client)
        client = Client(
            self.account_sid,
            auth_token or self.auth_token,
            http_client=http_client,
            environment={"TWILIO_ACCOUNT_SID": self.account_sid},
        )
        client.api.base_url = self.base_url
        return client

    # what happened ---------------------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def sent(self) -> list[SentMessage]:
        with self._lock:
            return list(self._sent)

    # programmable behaviour ------------------------------------------------------------------------------------
    def fail_next(
        self,
        count: int = 1,
        status: int | None = None,
        code: int = 20500,
        message: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """The next ``count`` message-create calls get this error instead of a message."""
        failure = make_failure(status, code, message, retry_after)
        with self._lock:
            self._failures.extend([failure] * count)

    def fail_for(
        self,
        to_number: str,
        status: int | None = None,
        code: int = 21610,
        message: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Every create call to ``to_number`` gets this error until reset()."""
        with self._lock:
            self._rules[to_number] = make_failure(status, code, message, retry_after)

    def hang_next(self, count: int, seconds: float) -> None:
        """The next ``count`` requests (any path) wait ``seconds`` before being answered."""
        with self._lock:
            self._hangs.extend([seconds] * count)

    def reset(self) -> None:
        """Forget recorded requests, sent messages, failures, rules and hangs."""
        with self._lock:
            for collection in (self._requests, self._sent, self._failures, self._rules, self._hangs):
                collection.clear()

    # callbacks to our server -----------------------------------------------------------------------------------
    def status_callback_for(self, message_sid: str, status: str, error_code: int | str | None = None) -> dict[str, str]:
        """status_callback_params for a message this fake sent (To/From/service taken from it)."""
        params = self._sent_params(message_sid)
        return status_callback_params(
            message_sid,
            status,
            error_code,
            to=params.get("To", DEFAULT_TO),
            from_=params.get("From", DEFAULT_FROM),
            account_sid=self.account_sid,
            messaging_service_sid=params.get("MessagingServiceSid"),
        )

    def deliver_status(
        self, message_sid: str, status: str, error_code: int | str | None = None, **kwargs: Any
    ) -> requests.Response:
        """POST a signed status callback to the StatusCallback URL the message was created with."""
        url = self._sent_params(message_sid).get("StatusCallback")
        if not url:
            raise LookupError(f"message {message_sid} was not sent with a StatusCallback")
        return signed_post(url, self.status_callback_for(message_sid, status, error_code), self.auth_token, **kwargs)

    def _sent_params(self, message_sid: str) -> dict[str, str]:
        with self._lock:
            return next((m.params for m in self._sent if m.sid == message_sid), {})

    # request handling ------------------------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one request and record it. Called from the server's handler threads."""
        self._maybe_hang()
        url = urlsplit(raw_path)
        multi = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        params = {name: values[0] for name, values in multi.items()}
        reply = self._route(method, url.path, headers, params)
        record = RecordedRequest(
            method, url.path, params, dict(headers), reply.status, url.query, multi, reply.body, reply.headers
        )
        with self._lock:
            self._requests.append(record)
        return reply

    def _maybe_hang(self) -> None:
        with self._lock:
            seconds = self._hangs.popleft() if self._hangs else 0.0
        if seconds:
            self._closing.wait(seconds)

    def _route(self, method: str, path: str, headers: Mapping[str, str], params: dict[str, str]) -> Reply:
        if not path.startswith(f"/{API_VERSION}/"):
            return _error(make_failure(code=20404), path=path)
        if not self._authorized(headers):
            return _error(make_failure(code=20003), extra_headers={"WWW-Authenticate": 'Basic realm="Twilio API"'})
        match = MESSAGES_PATH.match(path)
        if match is None or match["account_sid"] != self.account_sid:
            return _error(make_failure(code=20404), path=path)
        if method != "POST":
            return _error(make_failure(code=20004), extra_headers={"Allow": "GET, POST"})
        return self._create_message(params)

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        given = next((value for name, value in headers.items() if name.lower() == "authorization"), "")
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return hmac.compare_digest(given.encode(), expected.encode())

    def _create_message(self, params: dict[str, str]) -> Reply:
        to = params.get("To", "")
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
            failure = failure or _invalid(params) or self._rules.get(to)
        if failure is not None:
            return _error(failure, to=to)
        resource = self._message_resource(params)
        with self._lock:
            self._sent.append(SentMessage(resource["sid"], params, resource))
        return Reply(201, resource)

    def _message_resource(self, params: dict[str, str]) -> dict[str, Any]:
        sid = new_sid("SM")
        now = format_datetime(datetime.now(UTC))
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        service = params.get("MessagingServiceSid") or None
        body = params.get("Body", "")
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": params.get("From") or None,
            "messaging_service_sid": service,
            "num_media": str(len([k for k in params if k.startswith("MediaUrl")])),
            "num_segments": str(num_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": params["To"],
            "uri": f"{uri}.json",
        }


def _invalid(params: dict[str, str]) -> Failure | None:
    """Twilio's checks for a create call, in the order it applies them."""
    if not params.get("To"):
        return make_failure(code=21604)
    if not params.get("From") and not params.get("MessagingServiceSid"):
        return make_failure(code=21603)
    if not params.get("Body") and not params.get("ContentSid") and not params.get("MediaUrl"):
        return make_failure(code=21602)
    return None


def _error(failure: Failure, to: str = "", path: str = "", extra_headers: dict[str, str] | None = None) -> Reply:
    message = failure.message.replace("{to}", to).replace("{path}", path)
    headers = dict(extra_headers or {})
    if failure.retry_after is not None:
        headers["Retry-After"] = str(failure.retry_after)
    return Reply(failure.status, error_body(failure.status, failure.code, message), headers)
