"""Case actions as services: assign, reopen, resolve with a root cause; each in the trail and moving the revision."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.case_admin import add_root_cause, remove_root_cause, root_causes, save_reply
from bot.errors import AlreadyExists, CaseClosed, CaseNotResolved, InvalidValue, NotFound
from bot.followups import (
    assign_case,
    case_view,
    claim_case,
    render_saved_reply,
    reopen_case,
    resolve_case,
    saved_replies_for_case,
)
from bot.ingest import NewContact, NewEvent, ingest_event
from bot.runtime import Runtime
from bot.sandbox import sandbox_reply
from storage.followups import activities
from storage.models import FollowUp
from storage.types import utcnow
from tests.helpers import flow_yaml, install_flow, tick

PHONE = "+447911123456"
ROUTING = """\
routing:
  - when: {band: detractor}
    queue: recovery
"""


def detractor_case(rt: Runtime) -> int:
    install_flow(rt, flow_yaml(ask="never", extra=ROUTING))
    ingest_event(rt, NewEvent("order.delivered", "evt-1", NewContact("cust-1", {"name": "Ada Lovelace",
                                                                                "phone": PHONE})))
    tick(rt)
    sandbox_reply(rt, "sms", PHONE, "1")
    with rt.session() as session:
        [case] = session.exec(select(FollowUp)).all()
    assert case.id is not None
    return case.id


def trail(rt: Runtime, case_id: int) -> list[tuple[str, str | None, str | None, str | None]]:
    with rt.session() as session:
        return [(a.kind, a.actor, a.detail, a.text) for a in activities(session, case_id)]


def revision(rt: Runtime, case_id: int):  # type: ignore[no-untyped-def]
    with rt.session() as session:
        view = case_view(session, case_id)
    assert view is not None
    return view.revision


def test_assigning_hands_the_case_to_a_teammate_and_back_to_the_queue(rt: Runtime) -> None:
    case_id = detractor_case(rt)
    before = revision(rt, case_id)
    with rt.session() as session:
        case = assign_case(session, case_id, "kim@example.com", "sam@example.com")
        assert (case.status, case.assignee) == ("claimed", "kim@example.com")
    assert revision(rt, case_id) > before
    with rt.session() as session:
        assign_case(session, case_id, "kim@example.com", "sam@example.com")  # already hers: nothing happens
        case = assign_case(session, case_id, None, "kim@example.com")
        assert (case.status, case.assignee) == ("open", None)
    assert trail(rt, case_id)[1:] == [("assigned", "sam@example.com", "kim@example.com", None),
                                      ("unassigned", "kim@example.com", None, None)]


def test_a_resolved_case_cannot_be_assigned_but_can_be_reopened_due_one_sla_from_now(rt: Runtime) -> None:
    case_id = detractor_case(rt)
    with rt.session() as session:
        claim_case(session, case_id, "kim")
        resolve_case(session, case_id, "kim", "refunded the fee")
    with pytest.raises(CaseClosed, match="cannot be assigned"), rt.session() as session:
        assign_case(session, case_id, "sam", "sam")
    resolved_revision = revision(rt, case_id)
    with rt.session() as session:
        case = reopen_case(session, case_id, "kim", "she wrote back: still broken")
        assert (case.status, case.assignee, case.resolved_at, case.root_cause) == ("claimed", "kim", None, None)
        assert case.due_at > utcnow() + timedelta(hours=23)  # the queue's SLA is a day
    assert revision(rt, case_id) > resolved_revision
    assert trail(rt, case_id)[-1] == ("reopened", "kim", None, "she wrote back: still broken")
    with pytest.raises(CaseNotResolved, match="is not resolved; only a resolved case can be reopened"), \
            rt.session() as session:
        reopen_case(session, case_id, "kim", None)


def test_resolving_needs_a_root_cause_from_the_list_only_while_there_is_one(rt: Runtime) -> None:
    first = detractor_case(rt)
    with rt.session() as session:
        assert resolve_case(session, first, "kim", None).root_cause is None  # the list is empty
        reopen_case(session, first, "kim", None)
        add_root_cause(session, "Courier damage")
        add_root_cause(session, "Billing error")
    with pytest.raises(InvalidValue, match="a root cause is required to resolve a case; one of: Billing error, "
                                           "Courier damage") as missing, rt.session() as session:
        resolve_case(session, first, "kim", "refunded")
    assert missing.value.field == "root_cause"
    with pytest.raises(InvalidValue, match="'Weather' is not a root cause on the list; one of: Billing error, "
                                           "Courier damage"), rt.session() as session:
        resolve_case(session, first, "kim", "refunded", "Weather")
    with rt.session() as session:
        case = resolve_case(session, first, "kim", "refunded", "courier DAMAGE")
        assert (case.status, case.root_cause) == ("resolved", "Courier damage")
    assert trail(rt, first)[-1] == ("resolved", "kim", "Courier damage", "refunded")


def test_root_causes_are_kept_once_whatever_their_case_and_resolved_cases_keep_a_removed_one(rt: Runtime) -> None:
    case_id = detractor_case(rt)
    with rt.session() as session:
        add_root_cause(session, "Courier damage")
    with pytest.raises(AlreadyExists, match="root cause 'courier damage' exists already"), rt.session() as session:
        add_root_cause(session, "courier damage")
    with rt.session() as session:
        resolve_case(session, case_id, "kim", None, "Courier damage")
        assert remove_root_cause(session, "COURIER damage") == "Courier damage"
        assert root_causes(session) == []
    with pytest.raises(NotFound, match="root cause 'Courier damage' does not exist"), rt.session() as session:
        remove_root_cause(session, "Courier damage")
    with rt.session() as session:
        assert session.get(FollowUp, case_id).root_cause == "Courier damage"  # type: ignore[union-attr]


def test_a_saved_reply_is_filled_in_with_the_cases_customer_and_answer(rt: Runtime) -> None:
    case_id = detractor_case(rt)
    text = "Hi {{ contact.first_name }}, sorry about the {{ score }}{% if comment %}: {{ comment }}{% endif %}."
    with rt.session() as session:
        save_reply(session, "Apology", text)
        assert render_saved_reply(rt, session, case_id, "apology") == "Hi Ada, sorry about the 1."
        [filled] = saved_replies_for_case(rt, session, case_id)
    assert (filled.name, filled.text, filled.problem) == ("Apology", "Hi Ada, sorry about the 1.", None)


def test_a_saved_reply_with_an_unknown_placeholder_is_refused_with_the_reason(rt: Runtime) -> None:
    with pytest.raises(InvalidValue, match="unknown variable customer; templates can use contact, score, band, "
                                           "comment, event and flow") as raised, rt.session() as session:
        save_reply(session, "Apology", "Hi {{ customer.name }}")
    assert raised.value.field == "text"
    with pytest.raises(InvalidValue, match="contact has no field 'frist_name'"), rt.session() as session:
        save_reply(session, "Apology", "Hi {{ contact.frist_name }}")
    with rt.session() as session:
        save_reply(session, "Apology", "Hi")
    with pytest.raises(AlreadyExists, match="saved reply 'APOLOGY' exists already"), rt.session() as session:
        save_reply(session, "APOLOGY", "Hello")
    with rt.session() as session:
        reply, created = save_reply(session, "APOLOGY", "Hello", replace=True)
        assert (reply.name, reply.text, created) == ("Apology", "Hello", False)
