"""The engine as channel webhooks and pages see it (channels.base.Inbox)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.answers import answer_by_token, reply_by_token, survey_view, unsubscribe_by_token
from bot.inbound import receive
from bot.provider_status import apply_status
from bot.runtime import Runtime
from channels.base import Inbound, InlineReply, ReplyMode, StatusReport, SurveyView


@dataclass
class AppInbox:
    rt: Runtime

    def receive(self, inbound: Inbound, replies: ReplyMode = ReplyMode.INLINE) -> list[InlineReply]:
        return receive(self.rt, inbound, replies).inline

    def status(self, report: StatusReport) -> None:
        apply_status(self.rt, report)

    def survey(self, token: str) -> SurveyView | None:
        return survey_view(self.rt, token)

    def answer(self, token: str, text: str) -> SurveyView | None:
        return answer_by_token(self.rt, token, text)

    def unsubscribe(self, token: str, source: str) -> bool:
        return unsubscribe_by_token(self.rt, token, source)

    def reply_by_token(self, token: str, inbound: Inbound) -> bool:
        return reply_by_token(self.rt, token, inbound)
