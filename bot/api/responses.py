"""GET /api/v1/responses: answers, newest last, with a cursor."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from bot.api.params import ID, known_flow
from bot.api.schemas import (
    ContactRef,
    CorrectionIn,
    ResponseOut,
    ResponsesPage,
    ResponsesQuery,
    Sentiment,
    encode_cursor,
)
from bot.http_json import json_body, query
from bot.learning import correct_response
from bot.runtime import runtime
from storage.models import Contact
from storage.models import Response as ResponseRow
from storage.responses import list_responses

PAGE = 50


def response_out(row: ResponseRow, external_id: str) -> ResponseOut:
    return ResponseOut(
        id=row.id or 0,
        delivery_id=row.delivery_id,
        flow=row.flow_key,
        channel=row.channel,
        contact=ContactRef(external_id=external_id),
        question=row.question,
        score=row.score,
        band=row.band,
        comment=row.comment,
        sentiment=Sentiment(label=row.sentiment, polarity=row.polarity),
        themes=list(row.themes or []),
        mismatch=row.mismatch,
        answered_at=row.answered_at,
        recheck_of=row.recheck_of,
        language=row.language,
    )


def list_all() -> Response:
    params = query(ResponsesQuery)
    with runtime().session() as session:
        rows = list_responses(
            session,
            flow=known_flow(session, params.flow),
            contact=params.contact,
            band=params.band,
            since=params.since,
            after_id=params.cursor,
            limit=PAGE + 1,
        )
    items = [response_out(row, ext) for row, ext in rows[:PAGE]]
    next_cursor = encode_cursor(items[-1].id) if len(rows) > PAGE else None
    return jsonify(ResponsesPage(items=items, next_cursor=next_cursor).model_dump(mode="json"))


def correct(response_id: int) -> Response:
    """An agent's "sentiment wrong" / "theme wrong": the stored answer changes now, the model learns later."""
    payload = json_body(CorrectionIn)
    rt = runtime()
    with rt.session() as session:
        row = correct_response(rt, session, response_id, payload.sentiment, payload.themes)
        contact = session.get(Contact, row.contact_id)
        out = response_out(row, contact.external_id if contact else "")
    return jsonify(out.model_dump(mode="json"))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/responses", "list_responses", list_all, methods=["GET"])
    bp.add_url_rule(f"/responses/<{ID}:response_id>/corrections", "correct_response", correct, methods=["POST"])
