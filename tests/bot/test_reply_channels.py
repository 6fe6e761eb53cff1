"""Replying on another channel: a case answered where no reply can go (the web widget) offers the customer's other
channels, and their answers there join the case."""

from __future__ import annotations

import uuid

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.answers import answer_by_token, reply_by_token, unsubscribe_by_token
from bot.errors import CustomerOptedOut, CustomerUnreachable, InvalidValue
from bot.followups import reply_channels, reply_to_customer
from bot.ingest import NewContact, NewEvent, ingest_event
from bot.runtime import Runtime
from bot.sandbox import sandbox_reply
from channels.base import Inbound
from storage.contacts import opted_out_channels, set_opt_out
from storage.followups import activities
from storage.models import Delivery, FollowUp
from storage.sandbox import sandbox_messages
from storage.types import utcnow
from tests.helpers import DETRACTORS_TO_RECOVERY, flow_yaml, install_flow, tick

PHONE, EMAIL = "+447911123456", "ada@example.com"


def case_on(rt: Runtime, channels: str, contact: dict | None = None) -> FollowUp:
    """A detractor's case from a survey on the first of `channels`, answered by link (the widget's way) or SMS."""
    install_flow(rt, flow_yaml(ask="never", channels=channels, extra=DETRACTORS_TO_RECOVERY))
    fields = contact if contact is not None else {"name": "Ada Lovelace", "phone": PHONE, "email": EMAIL}
    ingest_event(rt, NewEvent("order.delivered", "evt-1", NewContact("cust-1", fields)))
    tick(rt)
    with rt.session() as session:
        delivery = session.exec(select(Delivery)).one()
    answer_by_token(rt, delivery.token, "1")
    with rt.session() as session:
        return session.exec(select(FollowUp)).one()


def channels_of(rt: Runtime, case_id: int) -> list[tuple[str, str, bool]]:
    with rt.session() as session:
        return [(c.channel, c.address, c.answered_here) for c in reply_channels(rt, session, case_id)]


def test_a_widget_case_offers_the_customers_other_channels_in_the_flows_order(rt: Runtime) -> None:
    case = case_on(rt, "[web, email, sms]")
    assert case.id is not None and case.channel == "web"
    assert channels_of(rt, case.id) == [("email", EMAIL, False), ("sms", PHONE, False), ("whatsapp", PHONE, False),
                                        ("slack", f"email:{EMAIL}", False)]  # Slack finds people by email
    with rt.session() as session:
        set_opt_out(session, case.contact_id, "email", utcnow(), "test")
    assert [c for c, _, _ in channels_of(rt, case.id)] == ["sms", "whatsapp", "slack"]


def test_the_channel_the_customer_answered_on_comes_first_when_it_carries_replies(rt: Runtime) -> None:
    case = case_on(rt, "[sms, email]")
    assert case.id is not None
    assert channels_of(rt, case.id)[:2] == [("sms", PHONE, True), ("email", EMAIL, False)]


def test_a_reply_to_a_widget_case_is_refused_by_default_naming_the_channels_that_would_do(rt: Runtime) -> None:
    case = case_on(rt, "[web, email]", {"name": "Ada Lovelace", "email": EMAIL})
    assert case.id is not None
    with pytest.raises(CustomerUnreachable, match=r"cannot be reached on web now \(web cannot carry a reply\); "
                                                  "reply on one of: email, slack$"):
        reply_to_customer(rt, case.id, "kim", "Sorry!")
    with pytest.raises(InvalidValue, match="cannot reply on sms: the customer has no address for sms; reply on one "
                                           "of: email, slack$") as refused:
        reply_to_customer(rt, case.id, "kim", "Sorry!", "sms")
    assert refused.value.field == "channel"
    with rt.session() as session:
        assert [m.text for m in sandbox_messages(session, EMAIL)] == []


def test_a_reply_by_email_to_a_widget_case_is_sent_and_the_customers_answers_join_the_case(rt: Runtime) -> None:
    case = case_on(rt, "[web, email]", {"name": "Ada Lovelace", "email": EMAIL})
    assert case.id is not None
    reply_to_customer(rt, case.id, "kim", "Sorry Ada, what went wrong?", "email")
    with rt.session() as session:
        assert [m.text for m in sandbox_messages(session, EMAIL)] == ["Sorry Ada, what went wrong?"]
        delivery = session.get(Delivery, case.delivery_id)
        assert delivery is not None
    sandbox_reply(rt, "email", EMAIL, "The box was crushed.")  # a reply from their address
    assert reply_by_token(rt, delivery.token, Inbound("email", EMAIL, "And late.", f"m-{uuid.uuid4().hex}"))
    with rt.session() as session:
        trail = [(a.kind, a.detail, a.text) for a in activities(session, case.id)]
    assert trail[1:] == [("reply", "email", "Sorry Ada, what went wrong?"),
                         ("customer_reply", None, "The box was crushed."),
                         ("customer_reply", None, "And late.")]


def test_unsubscribing_from_an_agents_email_opts_out_of_email_not_the_widget(rt: Runtime) -> None:
    case = case_on(rt, "[web, email]", {"name": "Ada Lovelace", "email": EMAIL})
    with rt.session() as session:
        delivery = session.get(Delivery, case.delivery_id)
        assert delivery is not None
    assert unsubscribe_by_token(rt, delivery.token, "email link", "email")
    with rt.session() as session:
        assert opted_out_channels(session, case.contact_id) == {"email"}
    assert case.id is not None
    with pytest.raises(InvalidValue, match="cannot reply on email: the customer opted out of email; reply on one "
                                           "of: slack$"):  # Slack finds people by their email
        reply_to_customer(rt, case.id, "kim", "Sorry!", "email")


def test_the_default_channel_refuses_an_opted_out_customer_naming_the_others(rt: Runtime) -> None:
    case = case_on(rt, "[sms, email]")
    assert case.id is not None
    with rt.session() as session:
        set_opt_out(session, case.contact_id, "sms", utcnow(), "test")
    with pytest.raises(CustomerOptedOut, match="opted out of sms; nothing was sent; reply on one of: email, "
                                               "whatsapp, slack$"):
        reply_to_customer(rt, case.id, "kim", "Sorry!")


def test_the_api_lists_reply_channels_and_takes_one(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    case = case_on(rt, "[web, email]", {"name": "Ada Lovelace", "email": EMAIL})
    listed = client.get(f"/api/v1/followups/{case.id}/reply-channels", headers=auth).get_json()["items"]
    assert listed[0] == {"channel": "email", "address": EMAIL, "answered_here": False}
    default = client.post(f"/api/v1/followups/{case.id}/reply", json={"text": "Sorry!"}, headers=auth)
    assert default.status_code == 409 and default.get_json()["error"]["code"] == "unreachable"
    assert "reply on one of: email" in default.get_json()["error"]["message"]
    wrong = client.post(f"/api/v1/followups/{case.id}/reply", json={"text": "Sorry!", "channel": "sms"}, headers=auth)
    assert wrong.status_code == 422 and wrong.get_json()["error"]["details"][0]["field"] == "channel"
    unknown = client.post(f"/api/v1/followups/{case.id}/reply", json={"text": "Sorry!", "channel": "fax"},
                          headers=auth)
    assert unknown.status_code == 422 and unknown.get_json()["error"]["details"][0]["field"] == "channel"
    sent = client.post(f"/api/v1/followups/{case.id}/reply", json={"text": "Sorry!", "channel": "email"},
                       headers=auth)
    assert sent.status_code == 200
    assert [(a["kind"], a["detail"]) for a in sent.get_json()["activity"]][-1] == ("reply", "email")
