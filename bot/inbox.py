"""The engine as channel webhooks see it (channels.base.Inbox): receive messages, apply status callbacks."""

from __future__ import annotations

from dataclasses import dataclass

from bot.inbound import receive
from bot.provider_status import apply_status
from bot.runtime import Runtime
from channels.base import Inbound, InlineReply, ReplyMode, StatusReport


@dataclass
class AppInbox:
    rt: Runtime

    def receive(self, inbound: Inbound, replies: ReplyMode = ReplyMode.INLINE) -> list[InlineReply]:
        return receive(self.rt, inbound, replies).inline

    def status(self, report: StatusReport) -> None:
        apply_status(self.rt, report)
