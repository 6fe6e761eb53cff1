"""Query parameters shared by the list endpoints: opaque cursors and ISO 8601 times."""

from __future__ import annotations

import base64
from datetime import datetime

from flask import request

from bot.api.errors import ApiError


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"r{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("r"):
            raise ValueError
        return int(raw[1:])
    except ValueError:
        raise ApiError(400, "invalid", "bad cursor", [{"field": "cursor", "message": "not a cursor"}]) from None


def parse_time(name: str) -> datetime | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "invalid", f"bad {name}", [{"field": name, "message": "not an ISO 8601 time"}]) from None
    if parsed.tzinfo is None:
        raise ApiError(400, "invalid", f"bad {name}", [{"field": name, "message": "needs a UTC offset"}])
    return parsed
