"""A real SMTP server (aiosmtpd) that keeps what it receives, and can be told to refuse.

Tests parse the received bytes with the email package, exactly as a mail client would.
"""

from __future__ import annotations

import email
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

from tests.e2e.processes import free_port


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _Handler:
    def __init__(self, inbox: FakeSmtp) -> None:
        self.inbox = inbox

    async def handle_RCPT(self, server: object, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          options: list[str]) -> str:
        refusal = self.inbox.refusals.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: object, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=default)
        with self.inbox.lock:
            self.inbox.received.append(Received(envelope.mail_from or "", list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class FakeSmtp:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.refusals: dict[str, str] = {}
        self.lock = threading.Lock()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def refuse(self, address: str, reply: str = "550 5.1.1 No such user") -> None:
        self.refusals[address.lower()] = reply

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [r.message for r in self.received if address in r.rcpt_tos]

    def __enter__(self) -> FakeSmtp:
        self.controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.controller.stop()
