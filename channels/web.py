"""The in-app pop-up: a pending survey waits for the contact's next page view in the customer's web app.

The web channel needs no account: its transport records the survey as waiting (the sent delivery is the
pending survey) and the widget asks for it when the page loads. The widget's endpoints are in web_api.py;
what they need from the engine (sites, display rules, client events) is the WidgetDesk below.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from flask import Blueprint

from channels.base import Channel, ChannelError, Inbox, Outbound, Recipient, SendResult, SurveyView, Transport
from channels.email import brand_from_env
from channels.web_api import WidgetLimits, widget_blueprint


@dataclass(frozen=True)
class WidgetSite:
    """A web app that embeds the widget, as the endpoints need it."""

    id: int
    key: str
    origins: tuple[str, ...]
    recontact_days: int
    secret: str = field(repr=False)

    def verifies(self, user_id: str, given_hash: str) -> bool:
        """Whether `given_hash` is HMAC-SHA256(user_id) under the site's secret, as its backend computes it."""
        expected = hmac.new(self.secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), given_hash.lower().encode())


@dataclass(frozen=True)
class PendingSurvey:
    view: SurveyView
    delay: int  # seconds after the page loaded before the pop-up opens


@dataclass(frozen=True)
class Tracked:
    duplicate: bool
    due_in: list[float]  # seconds until each web survey this event scheduled is due


class WidgetDesk(Protocol):
    """What the widget's endpoints ask of the engine; every call is for a user whose hash was verified."""

    def site(self, public_key: str) -> WidgetSite | None:
        """The site behind a public key, or None."""

    def visit(
        self, site: WidgetSite, user_id: str, path: str, locale: str | None, attributes: dict[str, Any]
    ) -> PendingSurvey | None:
        """A page view: remember the user's locale and attributes, and return the survey to show, if the
        display rules allow one on this page."""

    def track(
        self,
        site: WidgetSite,
        user_id: str,
        event: str,
        properties: dict[str, Any],
        client_id: str,
        locale: str | None,
        attributes: dict[str, Any],
    ) -> Tracked:
        """A client event, ingested like an API event for flows that use the web channel; the same
        client id again is a duplicate."""

    def survey(self, user_id: str, token: str) -> SurveyView | None:
        """The user's own web survey behind a token, or None when it is not theirs."""

    def displayed(self, site: WidgetSite, user_id: str, token: str, dismissed: bool) -> bool:
        """Record that the pop-up showed (or the user closed) the survey; False when it is not theirs."""


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

    def address(self, recipient: Recipient) -> str | None:
        return recipient.external_id

    def blueprint(self, inbox: Inbox) -> Blueprint | None:
        """The widget's script and its endpoints, when the engine offers a widget desk."""
        if not isinstance(inbox, WidgetInbox):
            return None
        limits = WidgetLimits.from_env(os.environ)
        return widget_blueprint(inbox, inbox.widget_desk(), limits, brand_from_env(os.environ).color)

    @classmethod
    def configured(cls, env: Mapping[str, str], public_url: str) -> Transport | None:
        return WidgetTransport()
