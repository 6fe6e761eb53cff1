"""Who the audit log names for a change made through the API: the key that made it."""

from __future__ import annotations

from flask import g

from bot.audit import api_key_actor


def api_actor() -> str:
    return api_key_actor(g.api_key_name, g.api_key_id)
