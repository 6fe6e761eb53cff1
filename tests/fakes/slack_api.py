"""A local HTTP server that answers like Slack's Web API, for tests.

Why: the Slack channel talks to Slack through the official ``slack_sdk`` WebClient (and slack_bolt on top of it).
Mocking the client hides what breaks in production (the URL join, bearer auth, Slack's ``{"ok": false, "error"}``
replies that arrive with HTTP 200, 429 with Retry-After, single-use trigger_ids), and the real API needs a
workspace and a bot token. This fake speaks HTTP the way https://slack.com/api/ does for the methods a survey bot
calls, so the real client can be pointed at it with ``WebClient(token=..., base_url=fake.base_url)``.

It also builds and signs what Slack posts to *our* server (interactivity payloads, Events API envelopes), with the
same ``X-Slack-Signature`` scheme slack_sdk's SignatureVerifier checks. Payload shapes follow the fixtures in
tests/channels/slack/fixtures (copied from slackapi/bolt-python's tests).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hmac
import json
import random
import string
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from tests.fakes.json_server import JsonServer, Reply

API_PREFIX = "/api/"
DEFAULT_TOKEN = "xoxb-fake-slack-bot-token"
DEFAULT_TEAM_ID = "T1"
DEFAULT_APP_ID = "A1"
DEFAULT_BOT_ID = "B1"
DEFAULT_BOT_USER_ID = "U0BOT"
VERIFICATION_TOKEN = "verification_token"  # the legacy token field Slack still puts in payloads
JSON_FIELDS = ("blocks", "attachments", "view", "metadata")  # sent as JSON strings when the body is a form
MAX_BLOCKS = 50
MAX_TEXT = 40_000
ANY_METHOD = "*"


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request the fake answered. ``method`` is the API method (``chat.postMessage``)."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    status: int
    time: float
    http_method: str = "POST"
    body_format: str = "none"  # "json", "form", "query" or "none": how the client sent the arguments
    response: dict[str, Any] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return self.response.get("error")


@dataclass(frozen=True)
class Failure:
    """A programmed error: ``{"ok": false, "error": error}`` with ``status`` (and Retry-After when set)."""

    error: str
    status: int = 200
    retry_after: int | None = None


@dataclass
class Channel:
    """A conversation the fake knows: public channel, DM ("im") or group DM ("mpim")."""

    id: str
    name: str
    kind: str = "channel"
    members: tuple[str, ...] = ()
    is_member: bool = True
    is_archived: bool = False


def new_id(prefix: str, length: int = 10) -> str:
    """A Slack-style ID: one-letter type prefix plus uppercase letters and digits (``D0123ABCDE``)."""
    return prefix + "".join(random.choices(string.ascii_uppercase + string.digits, k=length))


def new_trigger_id() -> str:
    """A fresh trigger_id in Slack's ``<digits>.<digits>.<hex>`` shape."""
    return f"{random.randint(10**11, 10**12 - 1)}.{random.randint(10**10, 10**11 - 1)}.{uuid.uuid4().hex}"


def ok_body(**fields: Any) -> dict[str, Any]:
    return {"ok": True, **fields}


def error_body(code: str, **fields: Any) -> dict[str, Any]:
    return {"ok": False, "error": code, **fields}


def user_object(
    user_id: str,
    email: str | None,
    name: str,
    team_id: str = DEFAULT_TEAM_ID,
    *,
    real_name: str | None = None,
    tz: str = "America/Los_Angeles",
    is_bot: bool = False,
    deleted: bool = False,
) -> dict[str, Any]:
    """A user as users.info / users.lookupByEmail return it (the fields a bot reads; tz_offset is computed now)."""
    real = real_name or name
    local = datetime.now(ZoneInfo(tz))
    offset = local.utcoffset()
    profile: dict[str, Any] = {
        "real_name": real,
        "display_name": name,
        "real_name_normalized": real,
        "display_name_normalized": name,
        "team": team_id,
        "image_72": f"https://secure.gravatar.com/avatar/{user_id}.jpg",
    }
    if email:
        profile["email"] = email
    return {
        "id": user_id,
        "team_id": team_id,
        "name": name,
        "deleted": deleted,
        "color": "9f69e7",
        "real_name": real,
        "tz": tz,
        "tz_label": local.tzname(),
        "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
        "profile": profile,
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": is_bot,
        "is_app_user": False,
        "updated": int(time.time()),
    }


def parse_params(query: str, body: bytes, content_type: str) -> tuple[dict[str, Any], str]:
    """Arguments from the query string and a JSON or form body; JSON-string fields (blocks, view...) decoded.

    Raises ValueError for a body Slack could not read (bad JSON, multipart).
    """
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    body_format = "query" if params else "none"
    if body:
        content_type = content_type.lower()
        if content_type.startswith("application/json"):
            decoded = json.loads(body.decode("utf-8"))
            if not isinstance(decoded, dict):
                raise ValueError("JSON body is not an object")
            params.update(decoded)
            body_format = "json"
        elif content_type.startswith("multipart/"):
            raise ValueError("multipart bodies are not supported by the fake")
        else:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
            params.update({k: v[-1] for k, v in form.items()})
            body_format = "form"
    for name in JSON_FIELDS:
        if isinstance(params.get(name), str):
            with contextlib.suppress(json.JSONDecodeError):  # a bad string is reported by the method, as Slack does
                params[name] = json.loads(params[name])
    return params, body_format


def _basic_auth(header: str) -> dict[str, str]:
    """client_id and client_secret from HTTP Basic auth, the way slack_sdk sends them to oauth.v2.access."""
    if not header.startswith("Basic "):
        return {}
    user, _, password = base64.b64decode(header[len("Basic "):]).decode().partition(":")
    return {"client_id": user, "client_secret": password}


def truthy(value: Any) -> bool:
    """Slack's reading of a boolean argument (JSON true, or "1"/"true" in a form)."""
    return value is True or str(value).lower() in ("1", "true")


def _content_error(params: Mapping[str, Any]) -> str | None:
    """chat.* checks on text/blocks, in the order Slack reports them."""
    blocks = params.get("blocks")
    if not params.get("text") and not blocks and not params.get("attachments"):
        return "no_text"
    if blocks is not None:
        if not isinstance(blocks, list):
            return "invalid_blocks_format"
        if len(blocks) > MAX_BLOCKS or not all(isinstance(b, dict) and b.get("type") for b in blocks):
            return "invalid_blocks"
    if len(str(params.get("text") or "")) > MAX_TEXT:
        return "msg_too_long"
    return None


class FakeSlack:
    """Slack's Web API on 127.0.0.1, in a daemon thread. Use as a context manager.

    State lives on the instance: users (``add_user``), channels (``add_channel``; DMs appear when
    conversations.open or a post to a user id opens them), messages per channel, ephemeral messages, opened views,
    used and expired trigger_ids, and every request. ``reset()`` forgets the activity but keeps users and channels.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        team_id: str = DEFAULT_TEAM_ID,
        *,
        bot_user_id: str = DEFAULT_BOT_USER_ID,
        bot_id: str = DEFAULT_BOT_ID,
        app_id: str = DEFAULT_APP_ID,
        team_name: str = "Touchpoint Test",
        team_domain: str = "touchpoint-test",
    ) -> None:
        self.token = token
        self.team_id, self.team_name, self.team_domain = team_id, team_name, team_domain
        self.bot_user_id, self.bot_id, self.app_id = bot_user_id, bot_id, app_id
        self._lock = threading.Lock()
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, Channel] = {}
        self._messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._ephemeral: list[dict[str, Any]] = []
        self._views: list[dict[str, Any]] = []
        self._used_triggers: set[str] = set()
        self._expired_triggers: set[str] = set()
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)
        self._requests: list[RecordedRequest] = []
        self._tokens: dict[str, str] = {token: team_id}  # every bot token the fake accepts -> its workspace
        self._codes: dict[str, dict[str, Any]] = {}  # OAuth codes granted by grant_code()
        self.client_credentials: tuple[str, str] | None = None
        self._last_ts_us = 0
        self._server: JsonServer | None = None
        self._methods: dict[str, Callable[[dict[str, Any]], Reply]] = {
            "auth.test": self._auth_test,
            "conversations.open": self._conversations_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "views.open": self._views_open,
            "users.lookupByEmail": self._users_lookup_by_email,
            "users.info": self._users_info,
            "oauth.v2.access": self._oauth_v2_access,
        }
        self._users[bot_user_id] = user_object(bot_user_id, None, "touchpoint", team_id, is_bot=True)

    # lifecycle -------------------------------------------------------------------------------------------------
    def start(self) -> FakeSlack:
        self._server = JsonServer(self, "fake-slack")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/api/``; the trailing slash matters (WebClient uses urljoin)."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not running; use it as a context manager or call start()")
        return f"http://127.0.0.1:{self._server.port}{API_PREFIX}"

    def client(self, token: str | None = None, **kwargs: Any) -> WebClient:
        """A real slack_sdk WebClient aimed at this fake (timeout 5 s unless given)."""
        kwargs.setdefault("timeout", 5)
        return WebClient(token=token or self.token, base_url=self.base_url, **kwargs)

    # setup -----------------------------------------------------------------------------------------------------
    def add_user(self, user_id: str, email: str | None, name: str, **fields: Any) -> dict[str, Any]:
        """Register a workspace member; ``fields`` go to user_object (real_name, tz, is_bot, deleted)."""
        user = user_object(user_id, email, name, self.team_id, **fields)
        with self._lock:
            self._users[user_id] = user
        return copy.deepcopy(user)

    def add_channel(self, channel_id: str, name: str, *, is_member: bool = True, is_archived: bool = False) -> Channel:
        """Register a public channel; posting needs the bot to be a member and the channel not archived."""
        channel = Channel(channel_id, name, "channel", (), is_member, is_archived)
        with self._lock:
            self._channels[channel_id] = channel
        return channel

    def grant_code(self, code: str, team_id: str, team_name: str, installer: str = "U0INSTALLER") -> str:
        """Slack's side of an OAuth install: ``code`` (given to our redirect URL) exchanges for a new bot token
        of ``team_id`` through oauth.v2.access, with the client id and secret set in ``client_credentials``."""
        token = f"xoxb-{team_id.lower()}-{uuid.uuid4().hex[:12]}"
        with self._lock:
            self._codes[code] = {"team_id": team_id, "team_name": team_name, "installer": installer, "token": token}
        return token

    def expire_trigger(self, trigger_id: str) -> None:
        """views.open with this trigger_id now answers ``expired_trigger_id`` (Slack's 3 s limit)."""
        with self._lock:
            self._expired_triggers.add(trigger_id)

    # what happened ---------------------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def calls(self, method: str) -> list[RecordedRequest]:
        """Recorded requests for one API method, oldest first."""
        return [r for r in self.requests if r.method == method]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages in ``channel`` (an id, or a user id for their DM) as they are now, oldest first."""
        with self._lock:
            channel_id = self._dm_for(channel) or channel
            return copy.deepcopy(self._messages.get(channel_id, []))

    def ephemeral_messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """chat.postEphemeral messages (each with ``channel`` and ``user``), optionally for one channel."""
        with self._lock:
            found = [m for m in self._ephemeral if channel is None or m["channel"] == channel]
            return copy.deepcopy(found)

    @property
    def views(self) -> list[dict[str, Any]]:
        """Views opened with views.open, as Slack returned them (id "V...", callback_id, private_metadata...)."""
        with self._lock:
            return copy.deepcopy(self._views)

    def dm_channel(self, user_id: str) -> str | None:
        """The DM channel id conversations.open gave for ``user_id``, if it was opened."""
        with self._lock:
            return self._dm_for(user_id)

    @property
    def channels(self) -> dict[str, Channel]:
        with self._lock:
            return dict(self._channels)

    # programmable behaviour ------------------------------------------------------------------------------------
    def rate_limit_next(self, method: str, count: int = 1, retry_after: int = 1) -> None:
        """The next ``count`` calls of ``method`` ("*" for any) get HTTP 429, Retry-After and ``ratelimited``."""
        self._queue(method, Failure("ratelimited", 429, retry_after), count)

    def fail_next(self, method: str, error: str, count: int = 1, *, status: int = 200) -> None:
        """The next ``count`` calls of ``method`` ("*" for any) get ``{"ok": false, "error": error}``."""
        self._queue(method, Failure(error, status), count)

    def _queue(self, method: str, failure: Failure, count: int) -> None:
        with self._lock:
            self._failures[method].extend([failure] * count)

    def reset(self) -> None:
        """Forget requests, messages, views, trigger_ids and queued failures; keep users and channels."""
        with self._lock:
            for collection in (self._requests, self._messages, self._ephemeral, self._views, self._failures):
                collection.clear()
            self._used_triggers.clear()
            self._expired_triggers.clear()

    # request handling ------------------------------------------------------------------------------------------
    def handle(self, http_method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one request and record it. Called from the server's handler threads."""
        url = urlsplit(raw_path)
        method = url.path[len(API_PREFIX) :] if url.path.startswith(API_PREFIX) else url.path
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            params, body_format = parse_params(url.query, body, lowered.get("content-type", ""))
        except (ValueError, UnicodeDecodeError):
            params, body_format = {}, "invalid"
        with self._lock:
            reply = self._route(method, url.path, lowered, params, body_format)
            self._requests.append(
                RecordedRequest(
                    method, params, dict(headers), reply.status, time.time(), http_method, body_format,
                    reply.body, reply.headers,
                )
            )  # fmt: skip
        return reply

    def _route(
        self, method: str, path: str, headers: Mapping[str, str], params: dict[str, Any], body_format: str
    ) -> Reply:
        handler = self._methods.get(method)
        if not path.startswith(API_PREFIX) or handler is None:
            return Reply(404, error_body("unknown_method", req_method=method))
        if body_format == "invalid":
            is_json = "json" in headers.get("content-type", "")
            return Reply(200, error_body("invalid_json" if is_json else "invalid_form_data"))
        if method == "oauth.v2.access":
            params.update(_basic_auth(headers.get("authorization", "")))
        auth_error = None if method == "oauth.v2.access" else self._auth_error(headers, params, body_format)
        if auth_error:
            return Reply(200, error_body(auth_error))
        failure = self._pop_failure(method)
        if failure is not None:
            retry = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            return Reply(failure.status, error_body(failure.error), retry)
        return handler(params)

    def _auth_error(self, headers: Mapping[str, str], params: dict[str, Any], body_format: str) -> str | None:
        """``not_authed`` without a token, ``invalid_auth`` for a wrong one. JSON bodies need the header."""
        given = headers.get("authorization", "")
        token = given[len("Bearer ") :] if given.startswith("Bearer ") else ""
        if not token and body_format != "json":
            token = str(params.pop("token", ""))
        if not token:
            return "not_authed"
        known = any(hmac.compare_digest(token.encode(), accepted.encode()) for accepted in self._tokens)
        return None if known else "invalid_auth"

    def _pop_failure(self, method: str) -> Failure | None:
        for key in (method, ANY_METHOD):
            queue = self._failures.get(key)
            if queue:
                return queue.popleft()
        return None

    # helpers that run under the lock ---------------------------------------------------------------------------
    def _next_ts(self) -> str:
        """A message ts: epoch seconds with six decimals, strictly increasing like Slack's per channel."""
        self._last_ts_us = max(time.time_ns() // 1000, self._last_ts_us + 1)
        seconds, micros = divmod(self._last_ts_us, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _dm_for(self, user_id: str) -> str | None:
        return next((c.id for c in self._channels.values() if c.kind == "im" and c.members == (user_id,)), None)

    def _open_conversation(self, user_ids: tuple[str, ...]) -> tuple[Channel, bool]:
        """The DM (one user) or group DM for these users, created if needed; True when it already existed."""
        kind = "im" if len(user_ids) == 1 else "mpim"
        members = user_ids if kind == "im" else tuple(sorted(user_ids))
        existing = next((c for c in self._channels.values() if c.kind == kind and c.members == members), None)
        if existing is not None:
            return existing, True
        name = user_ids[0] if kind == "im" else "mpdm-" + "--".join(self._users[u]["name"] for u in members) + "-1"
        channel = Channel(new_id("D" if kind == "im" else "C"), name, kind, members)
        self._channels[channel.id] = channel
        return channel, False

    def _resolve_channel(self, value: Any) -> Channel | None:
        """A channel id, a user id (their DM, opened if needed), or a public channel name with or without '#'."""
        key = str(value or "")
        if key in self._channels:
            return self._channels[key]
        if key in self._users:
            return self._open_conversation((key,))[0]
        name = key.removeprefix("#")
        return next((c for c in self._channels.values() if c.kind == "channel" and c.name == name), None)

    def _postable(self, value: Any) -> tuple[Channel | None, str | None]:
        channel = self._resolve_channel(value)
        if channel is None:
            return None, "channel_not_found"
        if channel.is_archived:
            return channel, "is_archived"
        if not channel.is_member:
            return channel, "not_in_channel"
        return channel, None

    def _bot_message(self, params: Mapping[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "user": self.bot_user_id,
            "type": "message",
            "ts": ts,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": params.get("text") or "",
            "team": self.team_id,
            "bot_profile": {"id": self.bot_id, "app_id": self.app_id, "name": "touchpoint", "team_id": self.team_id},
        }
        for name in ("blocks", "attachments", "thread_ts", "metadata"):
            if params.get(name) is not None:
                message[name] = params[name]
        return message

    # API methods (called under the lock) -----------------------------------------------------------------------
    def _auth_test(self, params: dict[str, Any]) -> Reply:
        return Reply(
            200,
            ok_body(
                url=f"https://{self.team_domain}.slack.com/",
                team=self.team_name,
                user="touchpoint",
                team_id=self.team_id,
                user_id=self.bot_user_id,
                bot_id=self.bot_id,
                is_enterprise_install=False,
            ),
        )

    def _conversations_open(self, params: dict[str, Any]) -> Reply:
        if params.get("channel"):
            channel = self._channels.get(str(params["channel"]))
            return Reply(200, ok_body(channel={"id": channel.id}) if channel else error_body("channel_not_found"))
        users = params.get("users") or ""
        user_ids = tuple(u.strip() for u in (users if isinstance(users, list) else str(users).split(",")) if u.strip())
        if not user_ids:
            return Reply(200, error_body("users_list_not_supplied"))
        if len(user_ids) > 8:
            return Reply(200, error_body("too_many_users"))
        if any(u not in self._users for u in user_ids):
            return Reply(200, error_body("user_not_found"))
        channel, existed = self._open_conversation(user_ids)
        info: dict[str, Any] = {"id": channel.id}
        if truthy(params.get("return_im")):
            info.update(created=int(time.time()), is_im=channel.kind == "im", is_org_shared=False, user=user_ids[0])
        extra = {"no_op": True, "already_open": True} if existed else {}
        return Reply(200, ok_body(**extra, channel=info))

    def _chat_post_message(self, params: dict[str, Any]) -> Reply:
        channel, problem = self._postable(params.get("channel"))
        problem = problem or _content_error(params)
        if channel is None or problem:
            return Reply(200, error_body(problem or "channel_not_found"))
        ts = self._next_ts()
        message = self._bot_message(params, ts)
        self._messages[channel.id].append(message)
        return Reply(200, ok_body(channel=channel.id, ts=ts, message=copy.deepcopy(message)))

    def _chat_update(self, params: dict[str, Any]) -> Reply:
        channel, problem = self._postable(params.get("channel"))
        if channel is None or problem:
            return Reply(200, error_body(problem or "channel_not_found"))
        ts = str(params.get("ts") or "")
        message = next((m for m in self._messages.get(channel.id, []) if m["ts"] == ts), None)
        if message is None:
            return Reply(200, error_body("message_not_found"))
        if message.get("user") != self.bot_user_id:
            return Reply(200, error_body("cant_update_message"))
        merged = {**message, **{k: params[k] for k in ("text", "blocks", "attachments") if k in params}}
        problem = _content_error(merged)
        if problem:
            return Reply(200, error_body(problem))
        message.update({k: merged[k] for k in ("text", "blocks", "attachments") if k in merged})
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        body = {"text": message["text"], "user": self.bot_user_id, "bot_id": self.bot_id}
        body.update({k: message[k] for k in ("blocks", "attachments") if k in message})
        return Reply(200, ok_body(channel=channel.id, ts=ts, text=message["text"], message=copy.deepcopy(body)))

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> Reply:
        user = str(params.get("user") or "")
        channel, problem = self._postable(params.get("channel"))
        if channel is None or problem:
            return Reply(200, error_body(problem or "channel_not_found"))
        if user not in self._users:
            return Reply(200, error_body("user_not_found"))
        if channel.kind != "channel" and user not in channel.members:
            return Reply(200, error_body("user_not_in_channel"))
        problem = _content_error(params)
        if problem:
            return Reply(200, error_body(problem))
        ts = self._next_ts()
        message = {**self._bot_message(params, ts), "channel": channel.id, "recipient": user}
        self._ephemeral.append(message)
        return Reply(200, ok_body(message_ts=ts))

    def _views_open(self, params: dict[str, Any]) -> Reply:
        trigger_id, view = str(params.get("trigger_id") or ""), params.get("view")
        if not trigger_id or not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            return Reply(200, error_body("invalid_arguments"))
        if trigger_id in self._expired_triggers:
            return Reply(200, error_body("expired_trigger_id"))
        if trigger_id in self._used_triggers:
            return Reply(200, error_body("exchanged_trigger_id"))
        if view["type"] == "modal" and not view.get("title"):
            messages = ["[ERROR] missing required field: title [json-pointer:/view]"]
            return Reply(200, error_body("invalid_arguments", response_metadata={"messages": messages}))
        self._used_triggers.add(trigger_id)
        opened = self._view_object(view)
        self._views.append(opened)
        return Reply(200, ok_body(view=copy.deepcopy(opened)))

    def _view_object(self, view: Mapping[str, Any]) -> dict[str, Any]:
        view_id = new_id("V")
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": view["type"],
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }

    def _users_lookup_by_email(self, params: dict[str, Any]) -> Reply:
        email = str(params.get("email") or "").strip().lower()
        user = next((u for u in self._users.values() if (u["profile"].get("email") or "").lower() == email), None)
        if not email or user is None:
            return Reply(200, error_body("users_not_found"))
        return Reply(200, ok_body(user=copy.deepcopy(user)))

    def _oauth_v2_access(self, params: dict[str, Any]) -> Reply:
        if self.client_credentials is None or (str(params.get("client_id")), str(params.get("client_secret"))) != \
                self.client_credentials:
            return Reply(200, error_body("invalid_client_id"))
        grant = self._codes.pop(str(params.get("code") or ""), None)
        if grant is None:
            return Reply(200, error_body("invalid_code"))
        self._tokens[grant["token"]] = grant["team_id"]
        return Reply(200, ok_body(
            app_id=self.app_id, authed_user={"id": grant["installer"]}, scope="chat:write,im:write",
            token_type="bot", access_token=grant["token"], bot_user_id=self.bot_user_id,
            team={"id": grant["team_id"], "name": grant["team_name"]}, enterprise=None, is_enterprise_install=False,
        ))

    def _users_info(self, params: dict[str, Any]) -> Reply:
        user = self._users.get(str(params.get("user") or ""))
        return Reply(200, ok_body(user=copy.deepcopy(user)) if user else error_body("user_not_found"))


# what Slack posts to our server -----------------------------------------------------------------------------------
def sign(body: bytes | str, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The X-Slack-Request-Timestamp and X-Slack-Signature headers Slack sends with ``body`` (now by default)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=stamp, body=body)
    if signature is None:  # only when the timestamp is None, which cannot happen here
        raise ValueError("slack_sdk produced no signature")
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def interaction_body(payload: Mapping[str, Any]) -> str:
    """Interactivity as Slack posts it: form-encoded ``payload=<json>`` (Content-Type x-www-form-urlencoded)."""
    return "payload=" + quote(json.dumps(payload))


def event_body(
    event: Mapping[str, Any],
    team_id: str = DEFAULT_TEAM_ID,
    event_id: str | None = None,
    *,
    api_app_id: str = DEFAULT_APP_ID,
    enterprise_id: str | None = None,
    authed_users: list[str] | None = None,
    event_time: int | None = None,
) -> str:
    """The Events API ``event_callback`` envelope as JSON text (Slack posts it as application/json)."""
    envelope: dict[str, Any] = {"token": VERIFICATION_TOKEN, "team_id": team_id}
    if enterprise_id:
        envelope["enterprise_id"] = enterprise_id
    envelope.update(
        api_app_id=api_app_id,
        event=dict(event),
        type="event_callback",
        event_id=event_id or new_id("Ev"),
        event_time=int(time.time()) if event_time is None else event_time,
        authed_users=list(authed_users or [DEFAULT_BOT_USER_ID]),
    )
    return json.dumps(envelope)


def url_verification_body(challenge: str | None = None) -> str:
    """The one-off ``url_verification`` request Slack sends when the Events URL is saved."""
    return json.dumps(
        {"token": VERIFICATION_TOKEN, "challenge": challenge or uuid.uuid4().hex, "type": "url_verification"}
    )


def _user_ref(user_id: str, team_id: str, user_name: str | None) -> dict[str, str]:
    name = user_name or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _response_url(team_id: str) -> str:
    return f"https://hooks.slack.com/actions/{team_id}/{random.randint(10**11, 10**12 - 1)}/{uuid.uuid4().hex[:24]}"


def _team_ref(team_id: str) -> dict[str, Any]:
    return {"id": team_id, "domain": "touchpoint-test"}


def block_actions_payload(
    user_id: str,
    action_id: str,
    value: str,
    channel_id: str,
    message_ts: str,
    trigger_id: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    *,
    block_id: str = "survey",
    user_name: str | None = None,
    channel_name: str = "directmessage",
    message: Mapping[str, Any] | None = None,
    api_app_id: str = DEFAULT_APP_ID,
) -> dict[str, Any]:
    """A button click (``block_actions``) on a message, shaped like tests/channels/slack/fixtures/block_actions.json.

    ``message`` adds the clicked message (Slack includes it for non-ephemeral messages; the fixture has none).
    """
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user_ref(user_id, team_id, user_name),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": False},
        "trigger_id": trigger_id or new_trigger_id(),
        "team": _team_ref(team_id),
        "channel": {"id": channel_id, "name": channel_name},
        "response_url": _response_url(team_id),
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": value, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    if message is not None:
        payload["message"] = dict(message)
    return payload


def _state_values(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{block_id: {action_id: state}}``; a plain string state becomes a plain_text_input value."""
    return {
        block_id: {
            action_id: state if isinstance(state, dict) else {"type": "plain_text_input", "value": state}
            for action_id, state in actions.items()
        }
        for block_id, actions in values.items()
    }


def _input_blocks(values: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "type": "input",
            "block_id": block_id,
            "label": {"type": "plain_text", "text": block_id},
            "optional": True,
            "element": {"type": state.get("type", "plain_text_input"), "action_id": action_id},
        }
        for block_id, actions in values.items()
        for action_id, state in actions.items()
    ]


def view_submission_payload(
    user_id: str,
    callback_id: str,
    private_metadata: str,
    values: Mapping[str, Any],
    team_id: str = DEFAULT_TEAM_ID,
    *,
    view_id: str | None = None,
    trigger_id: str | None = None,
    user_name: str | None = None,
    api_app_id: str = DEFAULT_APP_ID,
) -> dict[str, Any]:
    """A modal submit (``view_submission``), shaped like tests/channels/slack/fixtures/view_submission.json.

    ``values`` is ``view.state.values``: ``{block_id: {action_id: {"type": ..., "value": ...}}}``, or a plain string
    instead of the inner dict for a plain_text_input.
    """
    state = _state_values(values)
    view_id = view_id or new_id("V")
    view = {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "blocks": _input_blocks(state),
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "state": {"values": state},
        "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        "title": {"type": "plain_text", "text": "Touchpoint"},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": {"type": "plain_text", "text": "Cancel"},
        "submit": {"type": "plain_text", "text": "Submit"},
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": api_app_id,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": DEFAULT_BOT_ID,
    }
    return {
        "type": "view_submission",
        "team": _team_ref(team_id),
        "user": _user_ref(user_id, team_id, user_name),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": view,
        "response_urls": [],
    }
