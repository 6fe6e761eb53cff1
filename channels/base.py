"""The small interface every channel implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol

import sqlalchemy as sa
from flask import Blueprint

from flows.questions import EndLabels, QuestionKind


class ChannelError(Exception):
    """A send that failed; `permanent` errors go to the next channel of the plan instead of retrying.

    `opted_out` means the provider says the recipient unsubscribed: the contact is opted out of the
    channel. `retry_after` (seconds) is the provider's own request to slow down, for the whole sender.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        code: str | None = None,
        opted_out: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent or opted_out
        self.code = code
        self.opted_out = opted_out
        self.retry_after = retry_after


@dataclass(frozen=True)
class Recipient:
    """What a channel may know of a contact: enough to address and greet them."""

    external_id: str
    name: str | None = None
    addresses: Mapping[str, str] = field(default_factory=dict)  # kind -> address; see Channel.address_kind
    locale: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)  # what the caller told of them (slack_team_id)


@dataclass(frozen=True)
class Question:
    """The survey question a message carries, so a channel can render buttons or links."""

    kind: QuestionKind
    labels: EndLabels | None = None  # what the scale's ends mean, shown beside the buttons; None for thumbs


@dataclass(frozen=True)
class Outbound:
    channel: str
    to: str
    text: str
    kind: str  # question, reminder, reprompt, comment_prompt, thanks, help, opt_out, opt_in, agent
    delivery_id: int | None = None
    question: Question | None = None
    attempt: int = 1
    # The delivery's unguessable token: survey links, reply and unsubscribe addresses are built on it.
    token: str | None = None
    locale: str | None = None
    # When the recipient last wrote to us on this channel (WhatsApp's 24-hour session window).
    last_inbound_at: datetime | None = None
    # Earliest moment to hand the message to the provider: the sender's pace (see Transport.pace).
    not_before: datetime | None = None
    # A subject line, for channels that have one (email), when the message is not a survey's (an escalation).
    subject: str | None = None


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    transport: str
    # The recipient as the provider resolved them, when that differs from `to` (a Slack user found by email).
    address: str | None = None


@dataclass(frozen=True)
class Inbound:
    """A reply normalised by a channel's webhook, handed to the conversation engine."""

    channel: str
    address: str
    text: str
    provider_message_id: str
    raw: dict[str, Any] = field(default_factory=dict)
    transport: str = ""  # "sandbox" for text typed as the customer in the sandbox, so it is told from real mail


class DeliveryState(StrEnum):
    """What a provider reports about a message after it accepted it, in the order it can happen."""

    ACCEPTED = "accepted"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


@dataclass(frozen=True)
class StatusReport:
    """A provider's status callback, normalised: which message, what happened, and what to do about it."""

    channel: str
    provider_message_id: str
    state: DeliveryState
    provider_status: str
    error_code: str | None = None
    error: str | None = None
    opted_out: bool = False  # the recipient unsubscribed at the provider: opt them out here too
    our_message_id: int | None = None  # set when we told the provider our id (TwiML replies)


class ReplyMode(StrEnum):
    """What becomes of the engine's replies to an inbound message."""

    INLINE = "inline"  # returned for the webhook's own answer (TwiML), recorded as queued
    SEND = "send"  # sent by the engine through the channel's transport
    DROP = "drop"  # the provider has already answered (Twilio's Advanced Opt-Out)


@dataclass(frozen=True)
class InlineReply:
    message: Outbound
    message_id: int  # ours, for the provider's status callback


@dataclass(frozen=True)
class SurveyView:
    """What a survey page shows: the question, where the conversation stands, in the customer's language."""

    token: str
    channel: str
    kind: QuestionKind
    locale: str
    question: str
    score: int | None
    comment: str | None
    phase: str  # awaiting_score, awaiting_comment or closed
    prompt: str | None  # the comment prompt for the band of the current score
    thanks: str
    open: bool  # still answerable: not expired, cancelled or closed
    labels: EndLabels | None = None  # what the scale's ends mean; None for thumbs


@dataclass(frozen=True)
class CaseView:
    """A follow-up case as a support team sees it where they work (a Slack card, say)."""

    id: int
    queue: str
    status: str  # open, claimed or resolved
    priority: str
    assignee: str | None
    due_at: datetime
    breached: bool
    customer: str  # the contact's name, else their external id
    channel: str  # where the customer answered, and where a reply goes
    kind: QuestionKind
    score: int | None
    band: str | None
    comment: str | None
    sentiment: str | None
    reason: str | None
    revision: datetime  # the latest change to the case or its answer
    root_cause: str | None = None  # chosen when it was resolved
    recheck: tuple[int, str | None] | None = None  # the score and band of the "did we fix it?" answer, if any


class CaseActionError(Exception):
    """A case action that cannot be done (the case is resolved, the customer opted out...): say why."""


class Inbox(Protocol):
    """What a channel's webhooks may ask of the engine; the app gives every channel one."""

    def receive(self, inbound: Inbound, replies: ReplyMode = ReplyMode.INLINE) -> list[InlineReply]:
        """Store the raw message (once per provider id) and run the conversation; see ReplyMode."""

    def status(self, report: StatusReport) -> None:
        """Apply a provider's status callback to the message and its delivery."""

    def survey(self, token: str) -> SurveyView | None:
        """The survey behind a link's token, or None for an unknown token."""

    def answer(self, token: str, text: str) -> SurveyView | None:
        """Apply the reply rules to `text` as the customer's answer to this survey (a click sends the score
        as text, a comment form its text); replies are not sent, since the page shows the outcome."""

    def unsubscribe(self, token: str, source: str, channel: str | None = None) -> bool:
        """Opt the survey's contact out of `channel` (the survey's own when None: a token also rides on an agent's
        email about a survey taken on another channel); False for an unknown token."""

    def reply_by_token(self, token: str, inbound: Inbound) -> bool:
        """A reply that names its survey (reply+TOKEN@ by email): stored once per provider id, run through
        the reply rules, and answered by the engine through the channel; False for an unknown token."""

    def case(self, case_id: int) -> CaseView | None:
        """A follow-up case, or None for an unknown id."""

    def claim_case(self, case_id: int, actor: str) -> CaseView:
        """Assign the case to `actor`; CaseActionError when it cannot be claimed."""

    def root_causes(self) -> list[str]:
        """The root causes a case is resolved with; while there are any, resolving needs one of them."""

    def resolve_case(self, case_id: int, actor: str, root_cause: str | None = None, note: str | None = None
                     ) -> CaseView:
        """Close the case; CaseActionError when it is already resolved, or the root cause is missing or unknown."""

    def reply_channels(self, case_id: int) -> list[str]:
        """The channels the case's customer can be written to now, the one they answered on first if it can."""

    def reply_to_case(self, case_id: int, actor: str, text: str, channel: str | None = None) -> CaseView:
        """Send `text` to the customer on `channel` (one of reply_channels; by default the one they answered on);
        CaseActionError when it cannot go."""


class CardPoster(Protocol):
    """A channel's alert cards: a case shown where the support team works, kept up to date in place."""

    def post_card(self, destination: str, case: CaseView, ts: str | None) -> str:
        """Post the case's card to `destination`, or update the one posted as `ts`; returns its id (ts).
        Raises ChannelError like a send."""

    def post_notice(self, destination: str, text: str) -> str:
        """Post a plain message (a score alert) to `destination`; returns its id (ts). Raises ChannelError."""


class Transport:
    """Talks to a provider. The sandbox transport stands in when credentials are missing."""

    name: ClassVar[str] = "transport"
    # Messages per second the provider accepts from this transport's sender; None when it needs no pacing.
    pace: float | None = None

    def send(self, message: Outbound) -> SendResult:
        raise NotImplementedError


class Channel:
    """A channel: who it can reach, how it sends, and which webhooks it serves."""

    name: ClassVar[str]
    # Whether an agent's message to the customer can go this way (the web widget only shows surveys).
    carries_replies: ClassVar[bool] = True
    # False for a channel that works without any account (the web widget): it runs on its own transport and
    # does not count when deciding whether anything is configured.
    needs_credentials: ClassVar[bool] = True
    # The kind of contact address the channel reaches (`phone`, `email`, ...): a contact keeps one address per
    # kind, and channels may share one (SMS and WhatsApp a phone). None: it addresses contacts by external id.
    address_kind: ClassVar[str | None] = None

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    @property
    def sandboxed(self) -> bool:
        return self.transport.name == "sandbox"

    @classmethod
    def normalize_address(cls, value: str) -> str:
        """An address of the channel's kind as it is stored, or a ValueError whose text tells the caller why."""
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @classmethod
    def provider_address(cls, address: str) -> str:
        """What the provider calls a stored address (WhatsApp's `whatsapp:+44...`); see contact_address."""
        return address

    @classmethod
    def contact_address(cls, provider_address: str) -> str:
        """The stored address behind the one a provider gives for a reply; the inverse of provider_address."""
        return provider_address

    def address(self, recipient: Recipient) -> str | None:
        """The address this channel would use for the recipient, or None when unreachable."""
        if self.address_kind is None:
            return recipient.external_id
        stored = recipient.addresses.get(self.address_kind)
        return self.provider_address(stored) if stored else None

    def send(self, message: Outbound) -> SendResult:
        return self.transport.send(message)

    def blueprint(self, inbox: Inbox) -> Blueprint | None:
        """Inbound webhooks of the provider; None while the channel has none."""
        return None

    def card_poster(self) -> CardPoster | None:
        """An optional capability: the channel posts alert cards for follow-up cases (None: it cannot)."""
        return None

    def use_database(self, engine: sa.Engine) -> None:
        """For a channel that keeps provider state of its own (Slack's workspace installations)."""

    def close(self) -> None:
        """Let work the channel started in the background finish (Slack's listeners) before the database goes."""

    @classmethod
    def configured(cls, env: Mapping[str, str], public_url: str) -> Transport | None:
        """The real transport when its credentials are present in the environment, else None."""
        return None
