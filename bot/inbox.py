"""The engine as channel webhooks see it (channels.base.Inbox): receive, record inline replies, statuses."""

from __future__ import annotations

from dataclasses import dataclass

from bot.inbound import receive
from bot.outbox import record_inline_replies
from bot.provider_status import apply_status
from bot.runtime import Runtime
from channels.base import Inbound, Outbound, StatusReport


@dataclass
class AppInbox:
    rt: Runtime

    def receive(self, inbound: Inbound, *, reply_inline: bool = True) -> list[Outbound]:
        result = receive(self.rt, inbound, send=not reply_inline)
        return result.replies if reply_inline else []

    def record_replies(self, replies: list[Outbound], transport: str) -> list[int]:
        return record_inline_replies(self.rt, replies, transport)

    def status(self, report: StatusReport) -> None:
        apply_status(self.rt, report)
