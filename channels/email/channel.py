"""The email channel: surveys sent over SMTP (transport.py), answered on our pages (pages.py) or by reply through
the providers' webhooks (webhooks.py)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from flask import Blueprint

from channels.base import Channel, Inbox, Transport
from channels.email.pages import pages
from channels.email.transport import SmtpTransport, config_from_env
from channels.email.webhooks import WebhookSecrets, webhooks

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class EmailChannel(Channel):
    name = "email"
    address_kind = "email"

    @classmethod
    def normalize_address(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError("not an email address")
        return value.lower()

    def blueprint(self, inbox: Inbox) -> Blueprint | None:
        """The survey pages behind the links (on the sandbox transport too, so a newcomer can click them),
        and the providers' webhooks."""
        bp = Blueprint("email", __name__)
        bp.register_blueprint(pages(inbox))
        bp.register_blueprint(webhooks(inbox, WebhookSecrets.from_env(os.environ)))
        return bp

    @classmethod
    def configured(cls, env: Mapping[str, str], public_url: str) -> Transport | None:
        config = config_from_env(env, public_url)
        return SmtpTransport(config) if config else None
