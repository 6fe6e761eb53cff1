"""The small interface every channel implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from flask import Blueprint

from flows.questions import QuestionKind


class ChannelError(Exception):
    """A send that failed; `permanent` errors go to the next channel of the plan instead of retrying."""

    def __init__(self, message: str, *, permanent: bool = False, code: str | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code


@dataclass(frozen=True)
class Recipient:
    """What a channel may know of a contact: enough to address and greet them."""

    external_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    slack_user_id: str | None = None
    locale: str | None = None


@dataclass(frozen=True)
class Question:
    """The survey question a message carries, so a channel can render buttons or links."""

    kind: QuestionKind
    token: str


@dataclass(frozen=True)
class Outbound:
    channel: str
    to: str
    text: str
    kind: str  # question, reminder, reprompt, comment_prompt, thanks, help, opt_out, opt_in, agent
    delivery_id: int | None = None
    question: Question | None = None
    attempt: int = 1


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    transport: str


@dataclass(frozen=True)
class Inbound:
    """A reply normalised by a channel's webhook, handed to the conversation engine."""

    channel: str
    address: str
    text: str
    provider_message_id: str
    raw: dict[str, Any] = field(default_factory=dict)


InboundHandler = Callable[[Inbound], list[Outbound]]


class Transport:
    """Talks to a provider. The sandbox transport stands in when credentials are missing."""

    name: ClassVar[str] = "transport"

    def send(self, message: Outbound) -> SendResult:
        raise NotImplementedError


class Channel:
    """A channel: who it can reach, how it sends, and which webhooks it serves."""

    name: ClassVar[str]

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    @property
    def sandboxed(self) -> bool:
        return self.transport.name == "sandbox"

    def address(self, recipient: Recipient) -> str | None:
        """The address this channel would use for the recipient, or None when unreachable."""
        raise NotImplementedError

    def send(self, message: Outbound) -> SendResult:
        return self.transport.send(message)

    def blueprint(self, handle_inbound: InboundHandler) -> Blueprint | None:
        """Inbound webhooks of the provider; None while the channel has none."""
        return None

    @classmethod
    def configured(cls, env: dict[str, str]) -> Transport | None:
        """The real transport when its credentials are present in the environment, else None."""
        return None
