"""SQLModel tables: the domain of DESIGN.md, one class per table."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy.orm import Mapped, relationship
from sqlmodel import Field, Relationship, SQLModel

from storage.types import JSONType, UTCDateTime, utcnow


def _time(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _json(default: type) -> Any:
    # Pydantic reads a default factory's signature at every construction; a builtin type's takes 40 µs.
    return Field(default_factory=lambda: default(), sa_type=JSONType, nullable=False)


class DeliveryStatus(StrEnum):
    SCHEDULED = "scheduled"
    CLAIMED = "claimed"  # taken by a worker's batch; its provider call has not started
    SENDING = "sending"  # the provider call has started
    SENT = "sent"
    DELIVERED = "delivered"
    ANSWERED = "answered"
    COMPLETED = "completed"
    SUPPRESSED = "suppressed"
    EXPIRED = "expired"
    FAILED = "failed"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"


# Deliveries a reply can still land on: from the moment the provider is called, since a fast customer (or
# provider) can answer before the worker has recorded the send; `unknown` ones until their expiry, since a
# reply shows the send went out.
OPEN_STATUSES = (
    DeliveryStatus.SENDING,
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.ANSWERED,
    DeliveryStatus.UNKNOWN,
)
# Deliveries that reached (or may have reached) the customer, for the throttle.
CONTACTED_STATUSES = (
    DeliveryStatus.SCHEDULED,
    DeliveryStatus.CLAIMED,
    DeliveryStatus.SENDING,
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.ANSWERED,
    DeliveryStatus.COMPLETED,
    DeliveryStatus.EXPIRED,
    DeliveryStatus.UNKNOWN,
)


class Contact(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(max_length=255, unique=True, index=True)
    name: str | None = Field(default=None, max_length=255, index=True)  # contact search: names starting with
    locale: str | None = Field(default=None, max_length=35)
    timezone: str | None = Field(default=None, max_length=64)
    attributes: dict[str, Any] = _json(dict)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    # Loaded with the contact (one more SELECT per query of contacts); copies made from raw rows have none.
    address_rows: Mapped[list[ContactAddress]] = Relationship(
        sa_relationship=relationship("ContactAddress", lazy="selectin", cascade="all, delete-orphan")
    )

    @property
    def addresses(self) -> dict[str, str]:
        """Kind -> address: how each channel reaches the contact (a channel declares the kind it reads)."""
        return {row.kind: row.address for row in self.address_rows}


class ContactAddress(SQLModel, table=True):
    """One address of a contact per kind (`phone` for SMS and WhatsApp, `email`, `slack_user_id`, ...): the
    kinds are the channels' business, so a new channel adds rows, not columns."""

    __tablename__ = "contact_address"
    __table_args__ = (sa.Index("ix_contact_address_kind_address", "kind", "address"),)

    contact_id: int = Field(foreign_key="contact.id", primary_key=True)
    kind: str = Field(max_length=32, primary_key=True)
    address: str = Field(max_length=320)


class ChannelConsent(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("contact_id", "channel"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    channel: str = Field(max_length=32)
    opted_out_at: datetime | None = _time()
    source: str | None = Field(default=None, max_length=64)
    updated_at: datetime = _created()


class Event(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=128, index=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    properties: dict[str, Any] = _json(dict)
    idempotency_key: str = Field(max_length=255, unique=True)
    occurred_at: datetime = _created()
    received_at: datetime = _created()


class Flow(SQLModel, table=True):
    """One version of a flow; deliveries point at the version they were made from."""

    __table_args__ = (sa.UniqueConstraint("key", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, index=True)
    version: int = 1
    name: str = Field(default="", max_length=255)
    definition: dict[str, Any] = _json(dict)
    enabled: bool = True
    current: bool = Field(default=True, index=True)
    created_at: datetime = _created()


RECHECK = sa.text("recheck_of IS NOT NULL")


class Delivery(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("event_id", "flow_key"),
        sa.Index("ix_delivery_status_due", "status", "due_at"),
        sa.Index("ix_delivery_sent_at", "sent_at"),
        sa.Index("ix_delivery_created_at", "created_at"),
        sa.Index("ix_delivery_recheck_of", "recheck_of", postgresql_where=RECHECK, sqlite_where=RECHECK),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id")
    flow_id: int = Field(foreign_key="flow.id")
    flow_key: str = Field(max_length=64, index=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    channel: str = Field(max_length=32)
    channel_plan: list[str] = _json(list)
    status: str = Field(default=DeliveryStatus.SCHEDULED, max_length=16)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    attempts: int = 0
    lease_until: datetime | None = _time()
    token: str = Field(max_length=64, unique=True)
    expires_at: datetime | None = _time()
    reminder_at: datetime | None = _time()
    reminded_at: datetime | None = _time()
    conversation: str = Field(default="awaiting_score", max_length=24)
    reprompts: int = 0
    comment_until: datetime | None = _time()
    sent_at: datetime | None = _time()
    answered_at: datetime | None = _time()
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    # A "did we fix it?" survey: the case (followup id) it asks about. Such a survey and its answer stay out of the
    # flow's metrics. Not a foreign key: a case already points at its delivery, and tables must not point at each
    # other.
    recheck_of: int | None = None
    # Sent by an admin to themself to try the flow ("Send me a test"): it and its answer count nowhere.
    is_test: bool = False
    # Where the funnel tally counts this delivery, "step:reason:channel" (storage.funnel): kept on the row so the
    # tally moves from exactly what it counted, whichever statement changed the delivery or its answer.
    funnel_tally: str | None = Field(default=None, max_length=64)


class StatusChange(SQLModel, table=True):
    """The audit trail of a delivery: every status it took and when."""

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True)
    status: str = Field(max_length=16)
    channel: str | None = Field(default=None, max_length=32)
    detail: str | None = Field(default=None, max_length=500)
    at: datetime = _created()


class Message(SQLModel, table=True):
    """Every message in or out; inbound ones keep their raw payload so nothing is lost."""

    __table_args__ = (
        sa.UniqueConstraint("channel", "direction", "provider_message_id"),
        sa.Index("ix_message_address", "channel", "address"),
    )

    id: int | None = Field(default=None, primary_key=True)
    direction: str = Field(max_length=3)  # "in" or "out"
    channel: str = Field(max_length=32)
    address: str = Field(max_length=320)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    delivery_id: int | None = Field(default=None, foreign_key="delivery.id", index=True)
    kind: str = Field(default="", max_length=32)
    text: str = ""
    transport: str = Field(default="", max_length=32)
    provider_message_id: str | None = Field(default=None, max_length=128)
    status: str | None = Field(default=None, max_length=32)
    raw: dict[str, Any] | None = Field(default=None, sa_type=JSONType, nullable=True)
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _created()
    processed_at: datetime | None = _time()


class HeldStatus(SQLModel, table=True):
    """A provider's status report that arrived before the message it names was stored (the send's
    transaction had not committed yet); the worker applies it once the message is there."""

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    provider_message_id: str = Field(max_length=255, index=True)
    report: dict[str, Any] = _json(dict)
    received_at: datetime = _created()


class Response(SQLModel, table=True):
    # A customer's answers, newest first, for the case page (storage.cases.contact_answers); a flow's, for the
    # dashboard's latest comments (storage.dashboard).
    __table_args__ = (
        sa.Index("ix_response_contact_answered", "contact_id", "answered_at", "id"),
        sa.Index("ix_response_flow_answered", "flow_key", "answered_at", "id"),
        sa.Index("ix_response_recheck_of", "recheck_of", postgresql_where=RECHECK, sqlite_where=RECHECK),
    )

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", unique=True)
    flow_key: str = Field(max_length=64)
    channel: str = Field(max_length=32)
    contact_id: int = Field(foreign_key="contact.id")
    question: str = Field(max_length=16)
    score: int | None = None
    band: str | None = Field(default=None, max_length=16)
    comment: str | None = None
    sentiment: str | None = Field(default=None, max_length=16)
    polarity: float | None = None
    themes: list[str] = _json(list)
    mismatch: bool = False
    language: str | None = Field(default=None, max_length=8)  # ISO 639-1 of the comment; None without one
    answered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    updated_at: datetime = _created()
    recheck_of: int | None = None  # the case a "did we fix it?" answer is about (see Delivery.recheck_of)
    is_test: bool = False  # the answer to an admin's test send (see Delivery.is_test)


class ResponseTally(SQLModel, table=True):
    """Responses per UTC day and group, kept by storage.tallies so /metrics never counts raw rows."""

    __table_args__ = (sa.UniqueConstraint("day", "flow_key", "channel", "question", "band", "sentiment", "shard"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date
    flow_key: str = Field(max_length=64)
    channel: str = Field(max_length=32)
    question: str = Field(max_length=16)
    band: str = Field(default="", max_length=16)
    sentiment: str = Field(default="", max_length=16)
    shard: int = 0  # see storage.tallies: concurrent writers spread over a few rows per group
    answers: int = 0
    scored: int = 0
    score_sum: int = 0
    score_sq_sum: int = 0  # with `scored` and `score_sum`, the variance behind CES's interval


class ThemeTally(SQLModel, table=True):
    """Scored answers per UTC day, group and theme of their comment (one answer counts once per theme): the
    dashboard ranks themes by volume and by their effect on the score without reading the answers."""

    __table_args__ = (sa.UniqueConstraint("day", "flow_key", "channel", "question", "theme", "band", "shard"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date
    flow_key: str = Field(max_length=64)
    channel: str = Field(max_length=32)
    question: str = Field(max_length=16)
    theme: str = Field(max_length=64)
    band: str = Field(default="", max_length=16)
    shard: int = 0
    answers: int = 0
    scored: int = 0
    score_sum: int = 0
    score_sq_sum: int = 0


class FunnelTally(SQLModel, table=True):
    """Deliveries per UTC day of their creation, flow and channel, by the furthest step of the funnel they reached
    (eligible, sent, delivered, answered, commented) and why they went no further: the funnel without reading
    the deliveries (storage.funnel)."""

    __table_args__ = (sa.UniqueConstraint("day", "flow_key", "channel", "step", "reason", "shard"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date
    flow_key: str = Field(max_length=64)
    channel: str = Field(max_length=32)
    step: str = Field(max_length=16)
    reason: str = Field(default="", max_length=32)
    shard: int = 0
    deliveries: int = 0


class SegmentTally(SQLModel, table=True):
    """Scored answers per UTC day, group and value of a segment an admin picked (a contact attribute or an event
    property, as it was when the answer was counted): the dashboard's segments without reading the answers."""

    __table_args__ = (
        sa.UniqueConstraint("segment", "day", "flow_key", "channel", "question", "value", "band", "shard"),
    )

    id: int | None = Field(default=None, primary_key=True)
    segment: str = Field(max_length=72)  # contact.<attribute> or event.<property>
    day: date
    flow_key: str = Field(max_length=64)
    channel: str = Field(max_length=32)
    question: str = Field(max_length=16)
    value: str = Field(max_length=200)  # longer values (free text rather than a segment) are cut
    band: str = Field(default="", max_length=16)
    shard: int = 0
    answers: int = 0
    scored: int = 0
    score_sum: int = 0
    score_sq_sum: int = 0


class TalliedSegment(SQLModel, table=True):
    """A segment an admin picked for the dashboard: its answers are tallied from the moment it was picked (when
    the answers already stored were counted) on."""

    segment: str = Field(primary_key=True, max_length=72)
    picked_at: datetime = _created()
    picked_by: str = Field(default="", max_length=320)


class SentTally(SQLModel, table=True):
    """Surveys sent per UTC day, flow and channel: the denominator of the response rate."""

    __table_args__ = (sa.UniqueConstraint("day", "flow_key", "channel", "shard"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date
    flow_key: str = Field(max_length=64)
    channel: str = Field(max_length=32)
    shard: int = 0
    sent: int = 0


class SkipTally(SQLModel, table=True):
    """Events a flow matched but did not survey, per UTC day, flow and reason (sampled out, throttled, opted
    out, unreachable, expired): no delivery row is made for them, so this is all that counts them. `channel`
    is empty: no channel is chosen before a contact is found eligible."""

    __table_args__ = (sa.UniqueConstraint("day", "flow_key", "channel", "reason", "shard"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date
    flow_key: str = Field(max_length=64)
    channel: str = Field(default="", max_length=32)
    reason: str = Field(max_length=32)
    shard: int = 0
    skipped: int = 0


class SenderPace(SQLModel, table=True):
    """The next free send slot of a provider sender, shared by every worker (see storage.pacing)."""

    sender: str = Field(primary_key=True, max_length=64)
    next_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class RateWindow(SQLModel, table=True):
    """A fixed window of a rate limit that every process counts in (see storage.limits); the key is a digest."""

    key: str = Field(primary_key=True, max_length=64)
    window_start: float = Field(nullable=False)  # seconds since the epoch
    hits: int = Field(nullable=False)


class Queue(SQLModel, table=True):
    """A follow-up queue; created with defaults the first time a routing rule names it."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    name: str = Field(default="", max_length=255)
    sla_minutes: int = 24 * 60
    slack_channel: str | None = Field(default=None, max_length=64)
    created_at: datetime = _created()
    # "Did we fix it?": this long after a case is resolved its customer is asked the case's question again.
    recheck_after_minutes: int | None = None
    # Escalation of a case past its due time: an email to the queue's lead, and its hand-over to someone.
    lead_email: str | None = Field(default=None, max_length=320)
    overdue_assignee: str | None = Field(default=None, max_length=320)


class RootCause(SQLModel, table=True):
    """A root cause an agent picks when resolving a case: a short list the admins keep, so causes can be counted."""

    __tablename__ = "root_cause"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    created_at: datetime = _created()


class SavedReply(SQLModel, table=True):
    """An agent's canned answer, kept by the admins: a template filled with the case's customer and answer."""

    __tablename__ = "saved_reply"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    text: str
    created_at: datetime = _created()
    updated_at: datetime = _created()


class FollowUpStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


UNRESOLVED_CASE = sa.text("status <> 'resolved'")


class FollowUp(SQLModel, table=True):
    """A case: an unhappy answer that a person must close the loop on before `due_at`."""

    # The inbox reads cases in due order, unresolved ones above all (see storage.cases, revision 0010).
    __table_args__ = (
        sa.Index("ix_followup_queue_status", "queue_id", "status"),
        sa.Index("ix_followup_due", "due_at", "id"),
        sa.Index("ix_followup_created_at", "created_at"),
        sa.Index("ix_followup_unresolved_due", "due_at", "id", postgresql_where=UNRESOLVED_CASE,
                 sqlite_where=UNRESOLVED_CASE),
        sa.Index("ix_followup_unresolved_queue_due", "queue_id", "due_at", "id", postgresql_where=UNRESOLVED_CASE,
                 sqlite_where=UNRESOLVED_CASE),
    )

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", unique=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True)
    queue_id: int = Field(foreign_key="queue.id")
    contact_id: int = Field(foreign_key="contact.id", index=True)
    channel: str = Field(max_length=32)
    status: str = Field(default=FollowUpStatus.OPEN, max_length=16)
    priority: str = Field(default="normal", max_length=16)
    assignee: str | None = Field(default=None, max_length=320)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    reason: str | None = Field(default=None, max_length=255)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    resolved_at: datetime | None = _time()
    breached_at: datetime | None = _time()
    root_cause: str | None = Field(default=None, max_length=64)  # as chosen at resolution, kept if the list changes
    # The channel of the agent's latest reply when it is not `channel`: the customer's answers there join the case.
    reply_channel: str | None = Field(default=None, max_length=32)
    first_reply_at: datetime | None = _time()  # the agent's first message to the customer
    escalated_at: datetime | None = _time()  # its breach was escalated (bot.escalation), once


class Activity(SQLModel, table=True):
    """The audit trail of a case: who did what, and every message in its thread."""

    id: int | None = Field(default=None, primary_key=True)
    followup_id: int = Field(foreign_key="followup.id", index=True)
    # opened, claimed, assigned, unassigned, note, reply, customer_reply, resolved, reopened, sla_breached,
    # escalated, escalation_failed, recheck_scheduled, recheck_answered
    kind: str = Field(max_length=32)
    actor: str | None = Field(default=None, max_length=320)
    text: str | None = None  # what a person wrote (a note, a message): erased with the contact
    detail: str | None = Field(default=None, max_length=320)  # what the step was about: an assignee, a root cause
    message_id: int | None = Field(default=None, foreign_key="message.id")
    at: datetime = _created()


class SlackCard(SQLModel, table=True):
    """A case's alert card in its queue's Slack channel; re-rendered whenever the case or its answer changes."""

    followup_id: int = Field(foreign_key="followup.id", primary_key=True)
    channel: str = Field(max_length=64)
    ts: str | None = Field(default=None, max_length=32)  # the posted message, once posted
    synced_at: datetime | None = _time()  # the case's revision the card shows
    lease_until: datetime | None = _time(index=True)
    error: str | None = Field(default=None, max_length=500)


# slack_sdk's installation and OAuth state stores keep workspace tokens in these tables (migration 0007);
# they are declared here so the schema checks and test clean-ups know them.
SLACK_INSTALLATIONS = SQLAlchemyInstallationStore.build_installations_table(SQLModel.metadata, "slack_installations")
SLACK_BOTS = SQLAlchemyInstallationStore.build_bots_table(SQLModel.metadata, "slack_bots")
SLACK_OAUTH_STATES = SQLAlchemyOAuthStateStore.build_oauth_states_table(SQLModel.metadata, "slack_oauth_states")


class Role(StrEnum):
    ADMIN = "admin"  # everything, users included
    AGENT = "agent"  # works cases


class User(SQLModel, table=True):
    """A person who signs in to the web app. Their browser's session names `session_epoch`: raising it (a password
    set or reset, the account disabled, a sign-out) ends every session they have."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    role: str = Field(max_length=16)
    password_hash: str | None = Field(default=None, max_length=255)
    created_at: datetime = _created()
    must_change_password: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    session_epoch: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    disabled_at: datetime | None = _time()
    last_sign_in_at: datetime | None = _time()
    # The daily email of one's open and overdue cases: asked for on the account page; the UTC day last sent.
    digest: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    digest_sent_on: date | None = None


class SignInFailure(SQLModel, table=True):
    """A failed sign-in (or one being checked), counted per account and per client address within a window by
    every process. Both are SHA-256 digests: what was typed as an email (a password, at times) is never kept."""

    __tablename__ = "sign_in_failure"
    __table_args__ = (sa.Index("ix_sign_in_failure_account_at", "account", "at"),
                      sa.Index("ix_sign_in_failure_address_at", "address", "at"))

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=64)
    address: str = Field(max_length=64)
    at: datetime = _created()


class ApiKey(SQLModel, table=True):
    """Only a SHA-256 of the key is kept; the key itself is shown once at creation."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128)
    key_hash: str = Field(max_length=64, unique=True)
    scopes: str = Field(max_length=255)  # space-separated, as in OAuth: "events:write read"
    created_at: datetime = _created()
    last_used_at: datetime | None = _time()
    revoked_at: datetime | None = _time()


class Site(SQLModel, table=True):
    """A web app that embeds the widget: its public key, the secret its backend signs user ids with, and the
    origins it runs on. The secret is an HMAC key we must use, so it is stored as is and kept out of repr."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    name: str = Field(default="", max_length=255)
    public_key: str = Field(max_length=64, unique=True)
    secret: str = Field(max_length=128)
    allowed_origins: list[str] = _json(list)
    recontact_days: int = 14
    created_at: datetime = _created()

    def __repr_args__(self) -> Any:
        return [(name, value) for name, value in super().__repr_args__() if name != "secret"]


class WidgetDisplay(SQLModel, table=True):
    """A survey the web widget showed, once per delivery; the contact's latest one starts the recontact period."""

    __table_args__ = (sa.Index("ix_widgetdisplay_contact_shown", "contact_id", "shown_at"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", unique=True)
    contact_id: int = Field(foreign_key="contact.id")
    site_id: int = Field(foreign_key="site.id", index=True)
    shown_at: datetime = _created()
    dismissed_at: datetime | None = _time()


class Webhook(SQLModel, table=True):
    """An admin's subscription: a URL that gets the events it lists, signed with its secret (Standard Webhooks).

    The secret is an HMAC key we must use, so it is stored as is and kept out of repr, like a site's. The worker
    holds a subscription under `lease_until` while it sends its messages, which keeps them in order."""

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    events: list[str] = _json(list)
    secret: str = Field(max_length=128)
    # After a rotation the old secret still signs (a second signature) until `previous_until`.
    previous_secret: str | None = Field(default=None, max_length=128)
    previous_until: datetime | None = _time()
    enabled: bool = True
    description: str = Field(default="", max_length=255)
    failing_since: datetime | None = _time()  # the first failed attempt since the last success
    disabled_reason: str | None = Field(default=None, max_length=500)
    lease_until: datetime | None = _time()
    created_at: datetime = _created()
    updated_at: datetime = _created()

    def __repr_args__(self) -> Any:
        return [(name, value) for name, value in super().__repr_args__() if name not in ("secret", "previous_secret")]


class WebhookMessage(SQLModel, table=True):
    """The outbox: one event for one subscription, written in the transaction of the change it reports. The body
    is kept only until the message is delivered or given up."""

    __tablename__ = "webhook_message"
    __table_args__ = (sa.Index("ix_webhook_message_queue", "webhook_id", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhook.id")
    msg_id: str = Field(max_length=64, unique=True)  # the `webhook-id` header: the same on every retry
    type: str = Field(max_length=64)
    body: str | None = None
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    status: str = Field(default="pending", max_length=16)  # pending, delivered, failed (given up)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    first_attempt_at: datetime | None = _time()
    created_at: datetime = _created()
    finished_at: datetime | None = _time()


class WebhookAttempt(SQLModel, table=True):
    """One POST of a message: the status code or the error's kind; never a body or a secret."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (sa.Index("ix_webhook_attempt_webhook", "webhook_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhook.id")
    message_id: int = Field(foreign_key="webhook_message.id", index=True)
    at: datetime = _created()
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=255)
    duration_ms: int = 0


class TaggingModel(SQLModel, table=True):
    """A learned tagging model of this deployment, one row per version; the active one tags new answers."""

    __table_args__ = (sa.UniqueConstraint("kind", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    version: int
    active: bool = False
    examples: int = 0
    corrections: int = 0
    trained_at: datetime = _created()
    data: bytes = Field(sa_type=sa.LargeBinary, nullable=False)


class TaggingCorrection(SQLModel, table=True):
    """An agent's correction of a response's tags: the stored answer is changed, and the next model learns it."""

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", index=True)
    sentiment: str | None = Field(default=None, max_length=16)
    themes: list[str] | None = Field(default=None, sa_type=JSONType, nullable=True)
    created_at: datetime = _created()


class ScoreAlert(SQLModel, table=True):
    """One drop of a flow's (or segment's) score below its own baseline: fired once, closed when it recovers.

    `open_key` names the flow and segment while the episode lasts and is NULL once it recovered: being unique, it
    lets one episode per flow and segment be open at a time, whichever worker sees the drop first."""

    __tablename__ = "score_alert"

    id: int | None = Field(default=None, primary_key=True)
    open_key: str | None = Field(default=None, max_length=200, unique=True)
    flow_key: str = Field(max_length=64, index=True)
    segment: str = Field(default="", max_length=100)  # "" for the whole flow, else "channel:sms"
    metric: str = Field(max_length=16)
    window_start: date
    window_end: date  # excluded
    baseline_start: date
    window_n: int
    window_value: float
    window_low: float
    window_high: float
    baseline_n: int
    baseline_value: float
    baseline_low: float
    baseline_high: float
    delta: float
    delta_low: float
    delta_high: float
    themes: list[Any] = _json(list)  # [[theme, answers], ...] among the window's unhappy answers
    notified: str = Field(default="", max_length=100)  # where it went: "slack", "email", both or none
    fired_at: datetime = _created()
    recovered_at: datetime | None = _time()


class InsightsDigest(SQLModel, table=True):
    """A digest email sent for one period (a day or an ISO week): the unique key makes it go out once."""

    __tablename__ = "insights_digest"
    __table_args__ = (sa.UniqueConstraint("period", "period_start"),)

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=16)  # daily or weekly
    period_start: date
    recipients: int = 0
    sent_at: datetime = _created()
class AuditEntry(SQLModel, table=True):
    """Who changed what and when: a flow, queue, user, API key, webhook, consent or setting. `detail` holds what
    changed, never a secret or a password. Read newest first, all or of one kind."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_kind_id", "kind", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _created()
    actor: str = Field(max_length=320)  # a user's email, `api key <name> (#id)`, `cli` or `system`
    kind: str = Field(max_length=16)
    object_key: str = Field(max_length=255)
    action: str = Field(max_length=32)
    detail: dict[str, Any] = _json(dict)


class Setting(SQLModel, table=True):
    """A setting admins change in the web app; a stored value overrides the environment's."""

    key: str = Field(primary_key=True, max_length=64)
    value: Any = Field(default=None, sa_type=JSONType, nullable=True)
    updated_at: datetime = _created()
    updated_by: str = Field(default="", max_length=320)


class ThemeProposal(SQLModel, table=True):
    """A theme the worker proposes from comments no theme covers; an admin accepts (with a name and keywords),
    merges or rejects it. Accepted ones join the taxonomy. Examples are response ids, never copied text."""

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default="proposed", max_length=16, index=True)  # proposed, accepted, rejected, merged
    words: list[str] = _json(list)
    examples: list[int] = _json(list)
    size: int = 0
    name: str | None = Field(default=None, max_length=64)
    keywords: list[str] | None = Field(default=None, sa_type=JSONType, nullable=True)
    merged_into: int | None = None
    created_at: datetime = _created()
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
