"""/api/v1/root-causes and /api/v1/saved-replies: the lists admins keep for casework."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from bot.api.params import ID
from bot.api.schemas import (
    FilledReplyList,
    FilledReplyOut,
    RootCauseIn,
    RootCauseList,
    RootCauseOut,
    SavedReplyIn,
    SavedReplyList,
    SavedReplyOut,
)
from bot.case_admin import (
    add_root_cause,
    check_name,
    remove_root_cause,
    remove_saved_reply,
    root_causes,
    save_reply,
    saved_replies,
    saved_reply,
)
from bot.followups import saved_replies_for_case
from bot.http_json import invalid_parameter, json_body
from bot.runtime import runtime
from storage.models import SavedReply


def list_root_causes() -> Response:
    with runtime().session() as session:
        items = [RootCauseOut(name=name) for name in root_causes(session)]
    return jsonify(RootCauseList(items=items).model_dump(mode="json"))


def create_root_cause() -> tuple[Response, int]:
    payload = json_body(RootCauseIn)
    with runtime().session() as session:
        name = add_root_cause(session, payload.name)
    return jsonify(RootCauseOut(name=name).model_dump(mode="json")), 201


def delete_root_cause(name: str) -> tuple[str, int]:
    with runtime().session() as session:
        remove_root_cause(session, name)
    return "", 204


def reply_out(reply: SavedReply) -> SavedReplyOut:
    return SavedReplyOut(name=reply.name, text=reply.text, updated_at=reply.updated_at)


def list_saved_replies() -> Response:
    with runtime().session() as session:
        items = [reply_out(reply) for reply in saved_replies(session)]
    return jsonify(SavedReplyList(items=items).model_dump(mode="json"))


def get_saved_reply(name: str) -> Response:
    with runtime().session() as session:
        return jsonify(reply_out(saved_reply(session, name)).model_dump(mode="json"))


def put_saved_reply(name: str) -> tuple[Response, int]:
    """Create or replace: the name is the reply's identity, as a flow's key is."""
    try:
        name = check_name(name)
    except ValueError as problem:
        raise invalid_parameter("name", str(problem)) from None
    payload = json_body(SavedReplyIn)
    with runtime().session() as session:
        reply, created = save_reply(session, name, payload.text, replace=True)
        body = reply_out(reply).model_dump(mode="json")
    return jsonify(body), 201 if created else 200


def delete_saved_reply(name: str) -> tuple[str, int]:
    with runtime().session() as session:
        remove_saved_reply(session, name)
    return "", 204


def case_saved_replies(followup_id: int) -> Response:
    rt = runtime()
    with rt.session() as session:
        filled = saved_replies_for_case(rt, session, followup_id)
    items = [FilledReplyOut(name=f.name, text=f.text, problem=f.problem) for f in filled]
    return jsonify(FilledReplyList(items=items).model_dump(mode="json"))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/root-causes", "list_root_causes", list_root_causes, methods=["GET"])
    bp.add_url_rule("/root-causes", "create_root_cause", create_root_cause, methods=["POST"])
    bp.add_url_rule("/root-causes/<path:name>", "delete_root_cause", delete_root_cause, methods=["DELETE"])
    bp.add_url_rule("/saved-replies", "list_saved_replies", list_saved_replies, methods=["GET"])
    bp.add_url_rule("/saved-replies/<path:name>", "get_saved_reply", get_saved_reply, methods=["GET"])
    bp.add_url_rule("/saved-replies/<path:name>", "put_saved_reply", put_saved_reply, methods=["PUT"])
    bp.add_url_rule("/saved-replies/<path:name>", "delete_saved_reply", delete_saved_reply, methods=["DELETE"])
    bp.add_url_rule(f"/followups/<{ID}:followup_id>/saved-replies", "case_saved_replies", case_saved_replies,
                    methods=["GET"])
