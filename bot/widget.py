"""The engine's side of the web widget (channels.web.desk.WidgetDesk): sites, display rules and client events.

Display rules, checked here on every page view (the script only adds "one per visit" with sessionStorage):
a survey is shown at most once; none is shown while the contact is inside the site's recontact period,
counted from their last widget display of any survey; and a flow's `web` block picks the pages (URL path
include/exclude) and the delay after the page loads.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.answers import survey_view
from bot.ingest import NewContact, NewEvent, ingest_event
from bot.runtime import Runtime
from channels.base import SurveyView
from channels.web.desk import PendingSurvey, Tracked, WidgetSite
from storage.contacts import contact_by_external_id
from storage.limits import hit, limit_key
from storage.sites import last_display_at, record_display, site_by_public_key, waiting_web_surveys, web_delivery_of
from storage.types import utcnow


@dataclass
class AppWidgetDesk:
    rt: Runtime

    def site(self, public_key: str) -> WidgetSite | None:
        with self.rt.session() as session:
            row = site_by_public_key(session, public_key)
            if row is None or row.id is None:
                return None
            return WidgetSite(row.id, row.key, tuple(row.allowed_origins), row.recontact_days, row.secret)

    def visit(
        self, site: WidgetSite, user_id: str, path: str, locale: str | None, attributes: dict[str, Any]
    ) -> PendingSurvey | None:
        now = utcnow()
        with self.rt.session() as session:
            contact = contact_by_external_id(session, user_id)
            if contact is None or contact.id is None:
                return None  # nothing can be waiting for someone we have never heard of
            if locale and contact.locale != locale:
                contact.locale = locale
            if attributes and {**contact.attributes, **attributes} != contact.attributes:
                contact.attributes = {**contact.attributes, **attributes}
            if session.is_modified(contact):
                contact.updated_at = now
                session.add(contact)
            last = last_display_at(session, contact.id)
            if last is not None and last > now - timedelta(days=site.recontact_days):
                return None
            chosen = None
            for delivery, flow, _event in waiting_web_surveys(session, contact.id, now):
                options = self.rt.definition(flow).web_options
                if options.allows(path):
                    chosen = (delivery.token, options.delay_seconds)
                    break
        if chosen is None:
            return None
        view = survey_view(self.rt, chosen[0])
        return PendingSurvey(view, chosen[1]) if view is not None else None

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
        contact = NewContact(user_id, {"locale": locale or None, "attributes": attributes or None})
        digest = hashlib.sha256(f"{site.id}\n{user_id}\n{client_id}".encode()).hexdigest()
        payload = NewEvent(event, f"widget-{digest[:48]}", contact, properties)
        result = ingest_event(self.rt, payload, channels=("web",))
        now = utcnow()
        due_in = [max(0.0, (d.due_at - now).total_seconds()) for d in result.deliveries if d.channel == "web"]
        return Tracked(result.duplicate, due_in)

    def survey(self, user_id: str, token: str) -> SurveyView | None:
        with self.rt.session() as session:
            if web_delivery_of(session, user_id, token) is None:
                return None
        return survey_view(self.rt, token)

    def displayed(self, site: WidgetSite, user_id: str, token: str, dismissed: bool) -> bool:
        with self.rt.session() as session:
            delivery = web_delivery_of(session, user_id, token)
            if delivery is None:
                return False
            record_display(session, site.id, delivery, utcnow(), dismissed)
            return True

    def hit(self, key: str, limit: int, window: float) -> float | None:
        digest = limit_key(self.rt.settings.secret_key_value, key)
        return hit(self.rt.engine, digest, limit, window, time.time())
