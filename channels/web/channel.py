"""The in-app pop-up: a pending survey waits for the contact's next page view in the customer's web app.

The web channel needs no account: its transport records the survey as waiting (the sent delivery is the
pending survey) and the widget asks for it when the page loads. The widget's endpoints are in api.py;
what they need from the engine (sites, display rules, client events) is the WidgetDesk (desk.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from flask import Blueprint

from channels.base import Channel, ChannelError, Inbox, Outbound, SendResult, Transport
from channels.email.transport import brand_from_env
from channels.web.api import WidgetLimits, widget_blueprint
from channels.web.desk import WidgetDesk


@runtime_checkable
class WidgetInbox(Inbox, Protocol):
    def widget_desk(self) -> WidgetDesk:
        """The engine's side of the widget."""


class WidgetTransport(Transport):
    """Nothing leaves the server: the sent delivery waits until the widget asks for it."""

    name = "widget"

    def send(self, message: Outbound) -> SendResult:
        if message.kind not in ("question", "reminder"):
            # An agent's reply or a confirmation would sit unseen: refuse, so the caller says it did not go.
            raise ChannelError("the web widget only shows surveys; it cannot deliver messages", permanent=True,
                               code="widget_survey_only")
        return SendResult(provider_message_id=f"web-{uuid.uuid4().hex}", transport=self.name)


class WebChannel(Channel):
    name = "web"
    needs_credentials = False
    carries_replies = False

    def blueprint(self, inbox: Inbox) -> Blueprint | None:
        """The widget's script and its endpoints, when the engine offers a widget desk."""
        if not isinstance(inbox, WidgetInbox):
            return None
        limits = WidgetLimits.from_env(os.environ)
        return widget_blueprint(inbox, inbox.widget_desk(), limits, brand_from_env(os.environ).color)

    @classmethod
    def configured(cls, env: Mapping[str, str], public_url: str) -> Transport | None:
        return WidgetTransport()
