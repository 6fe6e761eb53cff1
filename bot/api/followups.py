"""/api/v1/followups: the queue of cases an agent works, and the actions that close the loop."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request
from sqlmodel import Session

from bot.api.errors import not_found
from bot.api.params import ID, known_flow
from bot.api.responses import response_out
from bot.api.schemas import (
    ActivityOut,
    AnswersQuery,
    AnswerSummary,
    AssignIn,
    ClaimIn,
    ContactRef,
    FollowUpDetail,
    FollowUpList,
    FollowUpOut,
    FollowUpsQuery,
    NoteIn,
    PastAnswerOut,
    PastAnswers,
    ReopenIn,
    ReplyChannelList,
    ReplyChannelOut,
    ReplyIn,
    ResolveIn,
    ThreadActivityOut,
    ThreadEntryOut,
    ThreadMessageOut,
    ThreadOut,
    encode_key_cursor,
)
from bot.followups import (
    add_note,
    assign_case,
    case_thread_of,
    claim_case,
    reopen_case,
    reply_channels,
    reply_to_customer,
    resolve_case,
)
from bot.http_json import json_body, query
from bot.runtime import runtime
from storage.cases import CaseFilters, CaseRow, contact_answers, list_cases
from storage.followups import activities, case_with_context
from storage.models import FollowUp, FollowUpStatus
from storage.types import utcnow

PAGE = 50
ANSWERS_PAGE = 20


def followup_out(row: CaseRow) -> FollowUpOut:
    followup, response = row.followup, row.response
    assert followup.id is not None
    return FollowUpOut(
        id=followup.id,
        response_id=followup.response_id,
        delivery_id=followup.delivery_id,
        queue=row.queue,
        status=followup.status,
        priority=followup.priority,
        due_at=followup.due_at,
        assignee=followup.assignee,
        channel=followup.channel,
        contact=ContactRef(external_id=row.external_id),
        customer=row.customer,
        answer=AnswerSummary(flow=response.flow_key, question=response.question, score=response.score,
                             band=response.band, sentiment=response.sentiment, themes=list(response.themes or [])),
        reason=followup.reason,
        overdue=followup.status != FollowUpStatus.RESOLVED and followup.due_at < utcnow(),
        created_at=followup.created_at,
        first_reply_at=followup.first_reply_at,
        resolved_at=followup.resolved_at,
        root_cause=followup.root_cause,
    )


def detail(session: Session, followup: FollowUp) -> dict:
    assert followup.id is not None
    found = case_with_context(session, followup.id)
    assert found is not None
    _, queue, response, contact = found
    summary = followup_out(CaseRow(followup, queue.key, response, contact.external_id, contact.name))
    body = FollowUpDetail(
        **summary.model_dump(),
        response=response_out(response, contact.external_id),
        activity=[
            ActivityOut(kind=a.kind, actor=a.actor, text=a.text, detail=a.detail, at=a.at)
            for a in activities(session, followup.id)
        ],
    )
    return body.model_dump(mode="json")


def actor(name: str | None) -> str:
    """Who did it: the name the caller gives, else the API key's name."""
    return name or g.get("api_key_name") or "api"


def list_all() -> Response:
    """The inbox: cases matching every filter, soonest due first, 50 a page (keyset on due time and id)."""
    params = query(FollowUpsQuery)
    fields = params.model_dump(exclude={"cursor", "unassigned"})
    with runtime().session() as session:
        filters = CaseFilters(**{**fields, "flow": known_flow(session, params.flow)},
                              unassigned=params.unassigned == "true")
        rows = list_cases(session, filters, after=params.cursor, limit=PAGE + 1)
    items = [followup_out(row) for row in rows[:PAGE]]
    next_cursor = encode_key_cursor(rows[PAGE - 1].followup.due_at, items[-1].id) if len(rows) > PAGE else None
    return jsonify(FollowUpList(items=items, next_cursor=next_cursor).model_dump(mode="json"))


def thread(followup_id: int) -> Response:
    with runtime().session() as session:
        entries = case_thread_of(session, followup_id)
    items = [ThreadEntryOut(
        at=entry.at,
        message=ThreadMessageOut(id=entry.message.id or 0, direction=entry.message.direction,
                                 channel=entry.message.channel, kind=entry.message.kind, text=entry.message.text,
                                 status=entry.message.status) if entry.message is not None else None,
        activity=ThreadActivityOut(kind=entry.activity.kind, actor=entry.activity.actor, text=entry.activity.text,
                                   detail=entry.activity.detail) if entry.activity is not None else None,
    ) for entry in entries]
    return jsonify(ThreadOut(items=items).model_dump(mode="json"))


def customer_answers(followup_id: int) -> Response:
    """The case's customer's answers across flows and channels, newest first, 20 a page."""
    params = query(AnswersQuery)
    with runtime().session() as session:
        found = case_with_context(session, followup_id)
        if found is None:
            raise not_found("follow-up", followup_id)
        contact = found[3]
        assert contact.id is not None
        rows = contact_answers(session, contact.id, ANSWERS_PAGE + 1, params.cursor)
    items = [PastAnswerOut(response=response_out(row.response, contact.external_id), case_id=row.case_id,
                           case_status=row.case_status) for row in rows[:ANSWERS_PAGE]]
    last = rows[ANSWERS_PAGE - 1].response if len(rows) > ANSWERS_PAGE else None
    next_cursor = encode_key_cursor(last.answered_at, last.id or 0) if last is not None else None
    return jsonify(PastAnswers(items=items, next_cursor=next_cursor).model_dump(mode="json"))


def get_one(followup_id: int) -> Response:
    with runtime().session() as session:
        followup = session.get(FollowUp, followup_id)
        if followup is None:
            raise not_found("follow-up", followup_id)
        return jsonify(detail(session, followup))


def claim(followup_id: int) -> Response:
    payload = json_body(ClaimIn) if request.content_length else ClaimIn()
    with runtime().session() as session:
        return jsonify(detail(session, claim_case(session, followup_id, actor(payload.assignee))))


def assign(followup_id: int) -> Response:
    payload = json_body(AssignIn)
    with runtime().session() as session:
        return jsonify(detail(session, assign_case(session, followup_id, payload.assignee, actor(payload.author))))


def reopen(followup_id: int) -> Response:
    payload = json_body(ReopenIn) if request.content_length else ReopenIn()
    with runtime().session() as session:
        return jsonify(detail(session, reopen_case(session, followup_id, actor(payload.author), payload.reason)))


def note(followup_id: int) -> Response:
    payload = json_body(NoteIn)
    with runtime().session() as session:
        return jsonify(detail(session, add_note(session, followup_id, actor(payload.author), payload.text)))


def reply(followup_id: int) -> Response:
    payload = json_body(ReplyIn)
    rt = runtime()
    reply_to_customer(rt, followup_id, actor(payload.author), payload.text, payload.channel)
    with rt.session() as session:
        return jsonify(detail(session, session.get(FollowUp, followup_id)))


def list_reply_channels(followup_id: int) -> Response:
    rt = runtime()
    with rt.session() as session:
        found = reply_channels(rt, session, followup_id)
    items = [ReplyChannelOut(channel=c.channel, address=c.address, answered_here=c.answered_here) for c in found]
    return jsonify(ReplyChannelList(items=items).model_dump(mode="json"))


def resolve(followup_id: int) -> Response:
    payload = json_body(ResolveIn) if request.content_length else ResolveIn()
    with runtime().session() as session:
        case = resolve_case(session, followup_id, actor(payload.author), payload.note, payload.root_cause)
        return jsonify(detail(session, case))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/followups", "list_followups", list_all, methods=["GET"])
    bp.add_url_rule(f"/followups/<{ID}:followup_id>", "get_followup", get_one, methods=["GET"])
    bp.add_url_rule(f"/followups/<{ID}:followup_id>/thread", "followup_thread", thread, methods=["GET"])
    bp.add_url_rule(f"/followups/<{ID}:followup_id>/customer-answers", "followup_customer_answers",
                    customer_answers, methods=["GET"])
    bp.add_url_rule(f"/followups/<{ID}:followup_id>/claim", "claim_followup", claim, methods=["POST"])
    bp.add_url_rule(f"/followups/<{ID}:followup_id>/assign", "assign_followup", assign, methods=["POST"])
    bp.add_url_rule(f"/followups/<{ID}:followup_id>/reopen", "reopen_followup", reopen, methods=["POST"])
    bp.add_url_rule(f"/followups/<{ID}:followup_id>/notes", "note_followup", note, methods=["POST"])
    bp.add_url_rule(f"/followups/<{ID}:followup_id>/reply", "reply_followup", reply, methods=["POST"])
    bp.add_url_rule(f"/followups/<{ID}:followup_id>/reply-channels", "followup_reply_channels",
                    list_reply_channels, methods=["GET"])
    bp.add_url_rule(f"/followups/<{ID}:followup_id>/resolve", "resolve_followup", resolve, methods=["POST"])
