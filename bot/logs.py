"""Logging for every process: no personal data, no secrets and no tokens in any log line.

Masking happens where a record is made (a record factory), not in one handler's formatter, so it covers every
logger of the process whatever its handlers: ours, werkzeug's and gunicorn's request lines, Flask's tracebacks,
provider clients, and the records tests capture. It masks what a pattern can recognise; our own log lines
name ids, never a customer's text.

Lines are text for a person at a terminal or JSON, one object per line, for a log pipeline (`TOUCHPOINT_LOG_FORMAT`).
Every record made while a request is served carries its request id (`RequestIds`, around the WSGI app).
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

MASK = "***"
# Query parameters whose values tell an operator something and name nobody; every other value is masked.
SAFE_QUERY = frozenset({"band", "channel", "cursor", "flow", "queue", "since", "status", "until"})
# Libraries that log what they send (Twilio's request URLs and headers at INFO, Slack's bodies at DEBUG),
# APScheduler's line per tick (our worker logs what a tick did), and Alembic's set-up chatter at every start.
QUIET = {"apscheduler": logging.WARNING, "twilio.http_client": logging.WARNING, "slack_sdk": logging.INFO,
         "slack_bolt": logging.INFO, "alembic": logging.WARNING}

_PATTERNS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"(?<=://)[^/\s@\"']+@"), MASK + "@"),  # user:password@ in URLs
    (re.compile(r"(?<=[?&])([^=&\s\"'#]*)=([^&\s\"'#]*)"),
     lambda m: m[0] if m[1].lower() in SAFE_QUERY else f"{m[1]}={MASK}"),
    (re.compile(r"(/s/|/contacts/)[^/?#\s\"']+"), rf"\1{MASK}"),  # survey tokens, external ids in paths
    (re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+"), f"{MASK}@{MASK}"),  # email addresses, reply+TOKEN@
    (re.compile(r"(?:\+|%2[bB])\d[\d ().-]{5,20}\d"), "+" + MASK),  # phone numbers
    (re.compile(r"\b(tp_|xox[a-z]-)[\w-]{8,}"), rf"\1{MASK}"),  # our API keys, Slack tokens
    (re.compile(r"(?<!\d)\d{6,12}:[\w-]{30,}"), MASK),  # Telegram bot tokens (also in its API's URL paths)
    (re.compile(r"(?i)\b(bearer\s+)\S+"), rf"\1{MASK}"),
]
_SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|SIGNING_KEY")
_secrets: set[str] = set()
_base_factory = logging.getLogRecordFactory()
_formatter = logging.Formatter()


def mask(text: str) -> str:
    """The text with addresses, tokens, secrets and the values of query parameters replaced by ***."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.request_id = current_request_id.get()
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: logging reports it when the record is emitted
        return record
    record.msg, record.args = mask(message), None
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = mask(_formatter.formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = mask(record.stack_info)
    return record


def install_masking(*secrets: str) -> None:
    """Mask every log record of this process from now on, including these secrets and the environment's."""
    found = [value for name, value in os.environ.items() if _SECRET_NAME.search(name)]
    _secrets.update(value for value in (*secrets, *found) if len(value) >= 8)
    if logging.getLogRecordFactory() is not _masked_record:
        logging.setLogRecordFactory(_masked_record)
    for name, level in QUIET.items():
        logger = logging.getLogger(name)
        logger.setLevel(max(level, logging.getLogger().getEffectiveLevel()))


# The request being served by this thread, for every record made meanwhile (see RequestIds).
current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_FIELD = re.compile(r"(?<![\w.=/-])([a-z][a-z0-9_]*)=([^\s,()\[\]\"']+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # werkzeug colours some status codes in its request lines
_RESERVED = frozenset({"time", "level", "logger", "message", "exception", "stack"})


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} request_id={request_id}" if request_id and "request_id=" not in line else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and the `key=value` pairs of our own
    lines as fields of their own (`delivery=12` -> "delivery": "12"; `-` is null). Only ours: a request line's
    query string would let any client add fields. Field values stay strings, so a field never changes type from
    one line to the next in a log store. The message is masked already, so are they."""

    def format(self, record: logging.LogRecord) -> str:
        message = _ANSI.sub("", record.getMessage())
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
            "request_id": getattr(record, "request_id", None),
        }
        ours = record.name.startswith("touchpoint")
        for key, value in _FIELD.findall(message):
            if key == "request_id":
                line[key] = line[key] or (value if value != "-" else None)
            elif ours and key not in _RESERVED:
                line.setdefault(key, None if value == "-" else value)
        if record.exc_info and not record.exc_text:
            record.exc_text = mask(self.formatException(record.exc_info))
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


def log_formatter(fmt: str | None) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else TextFormatter()


def setup_logging(level: str | int, *secrets: str, fmt: str | None = None) -> None:
    """The process's handler on stderr, once; a later call (another app in the same process) changes its format and
    level. A root logger someone else configured (a test runner) is left alone."""
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if getattr(handler, "touchpoint", False)]
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.touchpoint = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        ours = [handler]
    for handler in ours:
        handler.setFormatter(log_formatter(fmt))
    if ours:
        root.setLevel(level)
    install_masking(*secrets)


class RequestIds:
    """WSGI middleware: each request gets an id, the caller's `X-Request-ID` when it is well-formed (a proxy's or a
    client's, so their logs and ours meet) or a new one. It is returned in the response's `X-Request-ID` and set on
    every log record made while the request is served, the server's request line included."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        given = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = given if _WELL_FORMED_ID.fullmatch(given) else uuid.uuid4().hex
        current_request_id.set(request_id)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"] + [("X-Request-ID", request_id)]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        try:
            body = self.app(environ, start)
        except BaseException:
            current_request_id.set(None)
            raise
        return _Closing(body)


class _Closing:
    """The response body; the request id is forgotten when the server closes it, after its request line."""

    def __init__(self, body: Iterable[bytes]) -> None:
        self._body = body

    def __iter__(self) -> Any:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            current_request_id.set(None)
