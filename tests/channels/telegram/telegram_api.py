"""A local HTTP server that answers like Telegram's Bot API (https://api.telegram.org), for tests.

Why: the Telegram channel talks to Telegram with plain HTTPS calls through `requests`. Mocking them would hide
what breaks in production (the token in the URL path, Telegram's `{"ok": false, "error_code", "description",
"parameters"}` answers with the HTTP status equal to `error_code`, flood control's `retry_after`, a button's
64-byte data limit), and the real API needs a bot, a phone and a person. This double answers the methods a
survey bot calls (sendMessage, answerCallbackQuery, setWebhook) as Telegram does: a wrong
token is 401 "Unauthorized", an unknown method 404 "Not Found", a chat that never started the bot 400 "chat
not found", a user who blocked the bot 403. Tests program flood control (429 with retry_after), 5xx, and a
hang past the client's timeout after which the message still arrives, as it can with Telegram.

It also builds the updates Telegram posts to a bot's webhook, in the shape of the examples in Telegram's
webhook guide (fixtures/README.md): a user's text message, and a click on a button of a message the bot sent.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.json_server import JsonServer, Reply

DEFAULT_TOKEN = "4242424242:AAF-double_token-for-touchpoint-tests"
BOT = {"id": 4242424242, "is_bot": True, "first_name": "Touchpoint surveys", "username": "touchpoint_survey_bot"}
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_NOTICE = 200
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True)
class Call:
    """One request the double answered. `method` is the Bot API method as the client spelled it."""

    method: str
    params: dict[str, Any]
    status: int
    time: float
    path: str
    response: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Programmed:
    """What the next call of a method meets: an error (`status`, `description`, `retry_after`) or a hang."""

    method: str
    status: int = 200
    description: str = ""
    retry_after: int | None = None
    hang: float | None = None


@dataclass
class Person:
    chat_id: int
    first_name: str
    language_code: str = "en"
    blocked: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)  # what the bot sent them, in order

    @property
    def user(self) -> dict[str, Any]:
        return {"id": self.chat_id, "is_bot": False, "first_name": self.first_name,
                "language_code": self.language_code}

    @property
    def chat(self) -> dict[str, Any]:
        return {"id": self.chat_id, "first_name": self.first_name, "type": "private"}


def error(status: int, description: str, retry_after: int | None = None) -> Reply:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return Reply(status, body, {"Retry-After": str(retry_after)} if retry_after is not None else {})


def ok(result: Any, **extra: Any) -> Reply:
    return Reply(200, {"ok": True, "result": result, **extra})


class FakeTelegram:
    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []  # answered, in the order their answers were written
        self.arrivals: list[str] = []  # every method called, when the request arrived (a hung one included)
        self.webhook: dict[str, Any] = {"url": "", "allowed_updates": None, "secret_token": None}
        self.people: dict[int, Person] = {}
        self._programmed: deque[Programmed] = deque()
        self._queries: dict[str, bool] = {}  # callback query ids handed out -> answered
        self._next_message_id = 1000
        self._next_update_id = 870000
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server: JsonServer | None = None

    def __enter__(self) -> FakeTelegram:
        self._server = JsonServer(self, "fake-telegram")
        return self

    def __exit__(self, *_: object) -> None:
        self._released.set()  # a programmed hang ends now
        assert self._server is not None
        self._server.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the double with `with FakeTelegram() as telegram:`"
        return f"http://127.0.0.1:{self._server.port}"

    # --- what tests set up and read ---------------------------------------------------------------------

    def add_person(self, chat_id: int, first_name: str, language_code: str = "en") -> Person:
        """Someone who pressed Start in the bot's chat: the bot may write to them."""
        person = self.people[chat_id] = Person(chat_id, first_name, language_code)
        return person

    def block(self, chat_id: int) -> None:
        self.people[chat_id].blocked = True

    def fail_next(self, method: str, status: int, description: str, retry_after: int | None = None,
                  count: int = 1) -> None:
        for _ in range(count):
            self._programmed.append(Programmed(method, status, description, retry_after))

    def rate_limit_next(self, method: str, retry_after: int, count: int = 1) -> None:
        self.fail_next(method, 429, f"Too Many Requests: retry after {retry_after}", retry_after, count)

    def hang_next(self, method: str, seconds: float = 5.0) -> None:
        """The next call waits `seconds` (or until the double stops) before Telegram takes it and answers."""
        self._programmed.append(Programmed(method, hang=seconds))

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.people[chat_id].messages)

    def arrived(self, method: str) -> int:
        with self._lock:
            return sum(1 for name in self.arrivals if name.lower() == method.lower())

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method.lower() == method.lower()]

    # --- updates, as Telegram posts them to the bot's webhook ---------------------------------------------

    def text_update(self, chat_id: int, text: str) -> dict[str, Any]:
        person = self.people[chat_id]
        with self._lock:
            message_id = self._message_id()
        message = {"message_id": message_id, "from": person.user, "chat": person.chat, "date": int(time.time()),
                   "text": text}
        return {"update_id": self._update_id(), "message": message}

    def click_update(self, chat_id: int, message: dict[str, Any], label: str) -> dict[str, Any]:
        """The person presses the button labelled `label` under `message` (one the bot sent them)."""
        buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row if b["text"] == label]
        assert buttons, f"no button {label!r} under the message"
        query_id = str(random.randrange(10**18, 10**19))
        with self._lock:
            self._queries[query_id] = False
        query = {"id": query_id, "from": self.people[chat_id].user, "message": message,
                 "chat_instance": str(-random.randrange(10**18, 10**19)), "data": buttons[0]["callback_data"]}
        return {"update_id": self._update_id(), "callback_query": query}

    def _update_id(self) -> int:
        with self._lock:
            self._next_update_id += 1
            return self._next_update_id

    def _message_id(self) -> int:
        self._next_message_id += 1
        return self._next_message_id

    # --- the Bot API ------------------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Reply:
        url = urlsplit(raw_path)
        prefix = f"/bot{self.token}/"
        name = url.path[len(prefix):] if url.path.startswith(prefix) else ""
        with self._lock:
            self.arrivals.append(name)
        try:
            params = _params(url.query, body, headers.get("Content-Type", ""))
        except ValueError:
            params = None
        programmed = self._programmed_for(name) if url.path.startswith(prefix) else None
        if programmed is not None and programmed.hang is not None:
            self._released.wait(programmed.hang)
            programmed = None
        if not url.path.startswith("/bot"):
            reply = error(404, "Not Found")
        elif not url.path.startswith(prefix):
            reply = error(401, "Unauthorized")
        elif params is None:
            reply = error(400, "Bad Request: can't parse request body")
        elif programmed is not None:
            reply = error(programmed.status, programmed.description, programmed.retry_after)
        else:
            answer = {"sendmessage": self._send_message, "answercallbackquery": self._answer_callback,
                      "setwebhook": self._set_webhook}.get(name.lower())
            reply = answer(params) if answer is not None else error(404, "Not Found")
        with self._lock:
            self.calls.append(Call(name, params or {}, reply.status, time.monotonic(), url.path, reply.body))
        return reply

    def _programmed_for(self, name: str) -> Programmed | None:
        with self._lock:
            for programmed in self._programmed:
                if programmed.method.lower() == name.lower():
                    self._programmed.remove(programmed)
                    return programmed
        return None

    def _send_message(self, params: dict[str, Any]) -> Reply:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            return error(400, "Bad Request: chat_id is empty")
        person = self.people.get(_as_int(chat_id))
        if person is None:
            return error(400, "Bad Request: chat not found")
        if person.blocked:
            return error(403, "Forbidden: bot was blocked by the user")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            return error(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            return error(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if markup is not None and not _valid_keyboard(markup):
            return error(400, "Bad Request: BUTTON_DATA_INVALID")
        with self._lock:
            message: dict[str, Any] = {"message_id": self._message_id(), "from": BOT, "chat": person.chat,
                                       "date": int(time.time()), "text": text}
            if markup is not None:
                message["reply_markup"] = markup
            person.messages.append(message)
        return ok(message)

    def _answer_callback(self, params: dict[str, Any]) -> Reply:
        query_id = str(params.get("callback_query_id") or "")
        notice = params.get("text")
        if isinstance(notice, str) and len(notice) > MAX_NOTICE:
            return error(400, "Bad Request: MESSAGE_TOO_LONG")
        with self._lock:
            if self._queries.get(query_id) is not False:
                return error(400, "Bad Request: query is too old and response timeout expired or query ID is "
                                  "invalid")
            self._queries[query_id] = True
        return ok(True)

    def _set_webhook(self, params: dict[str, Any]) -> Reply:
        url = params.get("url")
        if not isinstance(url, str):
            return error(400, "Bad Request: bad webhook: URL must be specified")
        if url and not url.startswith("https://"):
            return error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not (isinstance(secret, str) and _SECRET.fullmatch(secret)):
            return error(400, "Bad Request: secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if isinstance(allowed, str):
            allowed = json.loads(allowed)
        with self._lock:
            self.webhook = {"url": url, "secret_token": secret, "allowed_updates": allowed}
        return ok(True, description="Webhook was set" if url else "Webhook was deleted")


def _params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Telegram takes a query string, a form or a JSON body."""
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query).items()}
    if body and content_type.lower().startswith("application/json"):
        decoded = json.loads(body)
        if not isinstance(decoded, dict):
            raise ValueError("not an object")
        params.update(decoded)
    elif body:
        params.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
    return params


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _valid_keyboard(markup: Any) -> bool:
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        return False
    for button in (b for row in rows for b in row):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            return False
        data = button.get("callback_data")
        if data is not None and not (isinstance(data, str) and 1 <= len(data.encode()) <= MAX_CALLBACK_DATA):
            return False
    return True
