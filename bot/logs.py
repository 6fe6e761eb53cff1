"""Logging for every process: no personal data, no secrets and no tokens in any log line.

Masking happens where a record is made (a record factory), not in one handler's formatter, so it covers every
logger of the process whatever its handlers: ours, werkzeug's and gunicorn's request lines, Flask's tracebacks,
provider clients, and the records tests capture. It masks what a pattern can recognise; our own log lines
name ids, never a customer's text.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

MASK = "***"
# Query parameters whose values tell an operator something and name nobody; every other value is masked.
SAFE_QUERY = frozenset({"band", "channel", "cursor", "flow", "queue", "since", "status", "until"})
# Libraries that log what they send (Twilio's request URLs and headers at INFO, Slack's bodies at DEBUG), and
# APScheduler's line per tick (our worker logs what a tick did).
QUIET = {"apscheduler": logging.WARNING, "twilio.http_client": logging.WARNING, "slack_sdk": logging.INFO,
         "slack_bolt": logging.INFO}

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


def setup_logging(level: str | int, *secrets: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    install_masking(*secrets)
