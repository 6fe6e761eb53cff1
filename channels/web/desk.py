"""What the widget's endpoints need from the engine: sites, display rules and client events."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any, Protocol

from channels.base import SurveyView


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

    def hit(self, key: str, limit: int, window: float) -> float | None:
        """Count a request against a limit every web process shares: None when allowed, else seconds to wait."""
