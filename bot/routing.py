"""Tags -> routing: a tagged response opens a case in the queue its flow's first matching rule names.

The step between sentiment and follow-up in the design's data path; the rules themselves are pure
(flows.routing), this module applies them to stored answers.
"""

from __future__ import annotations

from sqlmodel import Session

from bot.webhooks import note_case_opened
from flows.routing import Answer, route
from flows.schema import FlowDefinition
from storage.followups import ensure_queue, followup_for_response, open_followup
from storage.models import FollowUp, Response


def route_response(
    session: Session, response: Response, definition: FlowDefinition, is_new: bool = False
) -> FollowUp | None:
    """Open a case when a routing rule matches and none is open for this answer yet."""
    assert response.id is not None
    if not definition.routing or (not is_new and followup_for_response(session, response.id) is not None):
        return None
    answer = Answer(response.score, response.band, response.sentiment, response.themes, response.channel)
    rule = route(definition.routing, answer)
    if rule is None:
        return None
    reasons = [f"{key} {value}" for key, value in rule.when.model_dump(exclude_none=True).items()]
    followup = open_followup(
        session,
        response_id=response.id,
        delivery_id=response.delivery_id,
        contact_id=response.contact_id,
        channel=response.channel,
        queue=ensure_queue(session, rule.queue),
        priority=rule.priority,
        sla=rule.sla_td,
        reason=", ".join(reasons) or "routing rule",
    )
    note_case_opened(session, followup, response)
    return followup
