"""The engine as channel webhooks and pages see it (channels.base.Inbox)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bot.answers import answer_by_token, reply_by_token, survey_view, unsubscribe_by_token
from bot.case_admin import root_causes
from bot.errors import ServiceError
from bot.followups import case_view, claim_case, reply_channels, reply_to_customer, resolve_case
from bot.inbound import receive
from bot.provider_status import apply_status
from bot.runtime import Runtime
from bot.widget import AppWidgetDesk
from channels.base import CaseActionError, CaseView, Inbound, InlineReply, ReplyMode, StatusReport, SurveyView


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

    def unsubscribe(self, token: str, source: str, channel: str | None = None) -> bool:
        return unsubscribe_by_token(self.rt, token, source, channel)

    def reply_by_token(self, token: str, inbound: Inbound) -> bool:
        return reply_by_token(self.rt, token, inbound)

    def widget_desk(self) -> AppWidgetDesk:
        return AppWidgetDesk(self.rt)

    def case(self, case_id: int) -> CaseView | None:
        with self.rt.session() as session:
            return case_view(session, case_id)

    def claim_case(self, case_id: int, actor: str) -> CaseView:
        with _as_case_error(), self.rt.session() as session:
            claim_case(session, case_id, actor)
        return self._view(case_id)

    def root_causes(self) -> list[str]:
        with self.rt.session() as session:
            return root_causes(session)

    def resolve_case(self, case_id: int, actor: str, root_cause: str | None = None, note: str | None = None
                     ) -> CaseView:
        with _as_case_error(), self.rt.session() as session:
            resolve_case(session, case_id, actor, note, root_cause)
        return self._view(case_id)

    def reply_channels(self, case_id: int) -> list[str]:
        with _as_case_error(), self.rt.session() as session:
            return [found.channel for found in reply_channels(self.rt, session, case_id)]

    def reply_to_case(self, case_id: int, actor: str, text: str, channel: str | None = None) -> CaseView:
        with _as_case_error():
            reply_to_customer(self.rt, case_id, actor, text, channel)
        return self._view(case_id)

    def _view(self, case_id: int) -> CaseView:
        view = self.case(case_id)
        assert view is not None
        return view


@contextmanager
def _as_case_error() -> Iterator[None]:
    """A service's refusals (resolved, opted out, unknown case) reach the channel as a reason to show."""
    try:
        yield
    except ServiceError as error:
        raise CaseActionError(error.message) from None
