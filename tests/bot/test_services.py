"""The services called directly, with plain inputs: what they refuse is their own error, never an HTTP one."""

from __future__ import annotations

import logging

import pytest
from sqlmodel import select

from bot.errors import CaseClosed, CaseNotFound, CustomerOptedOut, CustomerUnreachable, NotInSandbox
from bot.followups import claim_case, reply_to_customer, resolve_case
from bot.inbox import AppInbox
from bot.ingest import NewContact, NewEvent, ingest_event
from bot.runtime import Runtime
from bot.sandbox import sandbox_reply
from channels.base import CaseActionError
from storage.contacts import set_opt_out
from storage.followups import activities
from storage.models import Contact, FollowUp
from storage.sandbox import sandbox_messages
from storage.types import utcnow
from tests.helpers import flow_yaml, install_flow, tick

PHONE = "+447911123456"
ROUTING = """\
routing:
  - when: {band: detractor}
    queue: recovery
"""


def detractor_case(rt: Runtime) -> FollowUp:
    install_flow(rt, flow_yaml(ask="never", extra=ROUTING))
    contact = NewContact("cust-1", {"name": "Ada Lovelace", "phone": PHONE})
    result = ingest_event(rt, NewEvent("order.delivered", "evt-1", contact))
    assert [d.channel for d in result.deliveries] == ["sms"]
    tick(rt)
    sandbox_reply(rt, "sms", PHONE, "1")
    with rt.session() as session:
        [case] = session.exec(select(FollowUp)).all()
    return case


def sent_to(rt: Runtime, address: str) -> list[str]:
    with rt.session() as session:
        return [m.text for m in sandbox_messages(session, address)]


def test_an_event_in_plain_words_schedules_its_survey_and_updates_only_the_fields_given(rt: Runtime) -> None:
    install_flow(rt, flow_yaml())
    first = ingest_event(rt, NewEvent("order.delivered", "evt-1", NewContact("cust-1", {"phone": PHONE})))
    again = ingest_event(rt, NewEvent("order.delivered", "evt-1", NewContact("cust-1", {"phone": PHONE})))
    ingest_event(rt, NewEvent("order.other", "evt-2", NewContact("cust-1", {"name": "Ada", "phone": None})))
    assert [d.channel for d in first.deliveries] == ["sms"] and not first.duplicate
    assert again.duplicate and again.event_id == first.event_id
    with rt.session() as session:
        [contact] = session.exec(select(Contact)).all()
    assert (contact.name, contact.addresses) == ("Ada", {"phone": PHONE})


def test_resolving_a_resolved_case_raises_case_closed(rt: Runtime) -> None:
    case = detractor_case(rt)
    assert case.id is not None
    with rt.session() as session:
        resolve_case(session, case.id, "agent", None)
    with pytest.raises(CaseClosed, match="is resolved; it cannot be resolved again"), rt.session() as session:
        resolve_case(session, case.id, "agent", None)
    with pytest.raises(CaseClosed, match="cannot be claimed"), rt.session() as session:
        claim_case(session, case.id, "agent")


def test_an_unknown_case_raises_case_not_found(rt: Runtime) -> None:
    with pytest.raises(CaseNotFound, match="follow-up 4242 does not exist"), rt.session() as session:
        claim_case(session, 4242, "agent")
    with pytest.raises(CaseNotFound):
        reply_to_customer(rt, 4242, "agent", "hello")


def test_replying_to_an_opted_out_customer_raises_customer_opted_out_and_sends_nothing(rt: Runtime) -> None:
    case = detractor_case(rt)
    assert case.id is not None
    with rt.session() as session:
        set_opt_out(session, case.contact_id, "sms", utcnow(), "test")
    before = sent_to(rt, PHONE)
    with pytest.raises(CustomerOptedOut, match="opted out of sms; nothing was sent"):
        reply_to_customer(rt, case.id, "agent", "Sorry!")
    assert sent_to(rt, PHONE) == before
    with rt.session() as session:
        assert "reply" not in [a.kind for a in activities(session, case.id)]


def test_replying_to_a_customer_without_an_address_raises_customer_unreachable(rt: Runtime) -> None:
    case = detractor_case(rt)
    assert case.id is not None
    with rt.session() as session:
        contact = session.get(Contact, case.contact_id)
        assert contact is not None
        contact.address_rows = []
    with pytest.raises(CustomerUnreachable, match="cannot be reached on sms"):
        reply_to_customer(rt, case.id, "agent", "Sorry!")


def test_an_agent_reply_is_sent_recorded_in_the_case_and_logged_without_address_or_text(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    case = detractor_case(rt)
    assert case.id is not None
    caplog.set_level(logging.DEBUG, "touchpoint.outbox")
    reply_to_customer(rt, case.id, "agent", "Sorry about the delay!")
    assert sent_to(rt, PHONE)[-1] == "Sorry about the delay!"
    with rt.session() as session:
        [reply] = [a for a in activities(session, case.id) if a.kind == "reply"]
    assert reply.message_id is not None and reply.text == "Sorry about the delay!"
    [line] = [r.getMessage() for r in caplog.records if "kind=agent" in r.getMessage()]
    assert line.startswith("send kind=agent channel=sms transport=sandbox delivery=") and line.endswith("outcome=sent")
    assert PHONE not in line and "Sorry" not in line


def test_the_slack_card_gets_a_case_action_error_with_the_services_message(rt: Runtime) -> None:
    case = detractor_case(rt)
    assert case.id is not None
    inbox = AppInbox(rt)
    inbox.resolve_case(case.id, "U0AGENT")
    with pytest.raises(CaseActionError, match="is resolved; it cannot be claimed"):
        inbox.claim_case(case.id, "U0AGENT")


def test_a_pretend_customer_on_a_channel_off_the_sandbox_raises_not_in_sandbox(rt: Runtime) -> None:
    with pytest.raises(NotInSandbox, match="'web' is not running on the sandbox transport") as raised:
        sandbox_reply(rt, "web", "someone", "hi")
    assert "sms" in raised.value.sandbox_channels
