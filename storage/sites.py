"""Widget sites and what the widget showed: the queries behind the display rules."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import Contact, Delivery, DeliveryStatus, Event, Flow, Site, WidgetDisplay
from storage.upsert import insert_or_merge

PUBLIC_KEY_PREFIX = "pk_"
# Surveys waiting for the widget: sent on the web channel, no score yet.
_WAITING = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)


class SiteExists(Exception):
    """A site with this key is already there."""


def create_site(
    session: Session, key: str, origins: list[str], recontact_days: int = 14, name: str | None = None
) -> Site:
    """A new site with a fresh public key and widget secret (both random)."""
    if site_by_key(session, key) is not None:
        raise SiteExists(key)
    site = Site(
        key=key,
        name=name or key,
        public_key=PUBLIC_KEY_PREFIX + secrets.token_urlsafe(18),
        secret=secrets.token_urlsafe(32),
        allowed_origins=list(origins),
        recontact_days=recontact_days,
    )
    session.add(site)
    try:
        session.flush()
    except sa.exc.IntegrityError:
        raise SiteExists(key) from None
    return site


def list_sites(session: Session) -> list[Site]:
    return list(session.exec(select(Site).order_by(col(Site.key))).all())


def site_by_key(session: Session, key: str) -> Site | None:
    return session.exec(select(Site).where(Site.key == key)).first()


def site_by_public_key(session: Session, public_key: str) -> Site | None:
    return session.exec(select(Site).where(Site.public_key == public_key)).first()


def last_display_at(session: Session, contact_id: int) -> datetime | None:
    """When the widget last showed this contact any survey, on any site: the start of the recontact period."""
    return session.exec(
        select(sa.func.max(WidgetDisplay.shown_at)).where(WidgetDisplay.contact_id == contact_id)
    ).one()


def waiting_web_surveys(
    session: Session, contact_id: int, now: datetime, limit: int = 20
) -> list[tuple[Delivery, Flow, Event]]:
    """Web surveys sent to this contact, not yet answered, not expired and never shown, newest first."""
    shown = select(WidgetDisplay.id).where(WidgetDisplay.delivery_id == Delivery.id)
    rows = session.exec(
        select(Delivery, Flow, Event)
        .join(Flow, col(Flow.id) == Delivery.flow_id)
        .join(Event, col(Event.id) == Delivery.event_id)
        .where(
            Delivery.contact_id == contact_id,
            Delivery.channel == "web",
            col(Delivery.status).in_([str(s) for s in _WAITING]),
            Delivery.conversation == "awaiting_score",
            sa.or_(col(Delivery.expires_at).is_(None), col(Delivery.expires_at) > now),
            ~shown.exists(),
        )
        .order_by(col(Delivery.sent_at).desc(), col(Delivery.id).desc())
        .limit(limit)
    ).all()
    return [(delivery, flow, event) for delivery, flow, event in rows]


def record_display(session: Session, site_id: int, delivery: Delivery, at: datetime, dismissed: bool) -> None:
    """The widget showed (or the customer closed) this survey; showing it again changes nothing."""
    assert delivery.id is not None
    values: dict[str, Any] = {"delivery_id": delivery.id, "contact_id": delivery.contact_id, "site_id": site_id,
                              "shown_at": at, "dismissed_at": at if dismissed else None}
    insert = insert_or_merge(session.connection(), WidgetDisplay).values(**values)
    if dismissed:
        # A dismissal keeps the first one's time; a display never un-dismisses.
        dismissed_at = sa.func.coalesce(col(WidgetDisplay.dismissed_at), insert.excluded.dismissed_at)
        session.execute(insert.on_conflict_do_update(index_elements=["delivery_id"],
                                                     set_={"dismissed_at": dismissed_at}))
    else:
        session.execute(insert.on_conflict_do_nothing(index_elements=["delivery_id"]))


def display_of(session: Session, delivery_id: int) -> WidgetDisplay | None:
    return session.exec(select(WidgetDisplay).where(WidgetDisplay.delivery_id == delivery_id)).first()


def web_delivery_of(session: Session, external_id: str, token: str) -> Delivery | None:
    """The web survey behind a token, only when it belongs to this contact."""
    return session.exec(
        select(Delivery)
        .join(Contact, col(Contact.id) == Delivery.contact_id)
        .where(Delivery.token == token, Delivery.channel == "web", Contact.external_id == external_id)
    ).first()
