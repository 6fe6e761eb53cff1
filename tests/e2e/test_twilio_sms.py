"""SMS and WhatsApp through Twilio, end to end: the real server, the real twilio client, a fake Twilio API.

Webhooks are signed exactly as Twilio signs them, against the server's public URL.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import StartServer
from tests.e2e.processes import Server, cli
from tests.fakes.twilio_api import FakeTwilio, inbound_sms_params, sign, signed_post
from tests.helpers import DETRACTORS_TO_RECOVERY, event, flow_yaml

OUR_NUMBER = "+15017250604"
ADA = {"external_id": "ada", "name": "Ada Lovelace", "phone": "+447911123456", "email": "ada@example.com"}


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def sms_server(start_server: StartServer, twilio: FakeTwilio) -> Server:
    server = start_server(
        TWILIO_ACCOUNT_SID=twilio.account_sid,
        TWILIO_AUTH_TOKEN=twilio.auth_token,
        TWILIO_FROM=OUR_NUMBER,
        TWILIO_API_BASE_URL=twilio.base_url,
        TWILIO_WHATSAPP_FROM=OUR_NUMBER,
        TWILIO_WHATSAPP_CONTENT_SID="HX" + "0" * 32,
        TWILIO_MPS="50",
        TOUCHPOINT_SANDBOX="on",  # email stays on the sandbox, as the fallback channel
    )
    flow = server.cwd / "flows.yaml"
    flow.write_text(flow_yaml("sms-nps", ask="detractors", extra=DETRACTORS_TO_RECOVERY), encoding="utf-8")
    whatsapp = server.cwd / "whatsapp.yaml"
    whatsapp.write_text(flow_yaml("wa-nps", event="chat.closed", channels="[whatsapp]", ask="never"), "utf-8")
    cli(server.env, "flows", "import", str(flow), str(whatsapp), cwd=server.cwd)
    return server


def texted(twilio: FakeTwilio, server: Server, to: str, count: int = 1) -> list:
    return server.wait_for(
        lambda: [m for m in twilio.sent if m.params["To"] == to][:count]
        if len([m for m in twilio.sent if m.params["To"] == to]) >= count else None,
        what=f"{count} message(s) to {to}",
    )


def reply(server: Server, twilio: FakeTwilio, text: str, sender: str = ADA["phone"], **extra: str) -> list[str]:
    """The customer texts us; returns the bodies of the TwiML answer."""
    channel = "whatsapp" if sender.startswith("whatsapp:") else "sms"
    params = inbound_sms_params(sender, OUR_NUMBER, text, **extra)
    answer = signed_post(f"{server.url}/webhooks/twilio/{channel}", params, twilio.auth_token, timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/xml"), answer.text
    return [node.text or "" for node in ET.fromstring(answer.text).iter("Message")]


def delivery(server: Server, delivery_id: int) -> dict:
    return server.api("GET", f"/deliveries/{delivery_id}").json()


def survey(server: Server, key: str, contact: dict = ADA, type_: str = "order.delivered") -> int:
    [planned] = server.api("POST", "/events", json=event(key, type_=type_, contact=contact)).json()["deliveries"]
    return planned["id"]


def test_a_text_survey_from_question_to_follow_up(sms_server: Server, twilio: FakeTwilio) -> None:
    delivery_id = survey(sms_server, "o-1")
    [question] = texted(twilio, sms_server, ADA["phone"])
    assert question.params["From"] == OUR_NUMBER
    assert question.params["Body"].startswith("Hi Ada! How likely are you to recommend us?")
    assert question.params["StatusCallback"] == f"{sms_server.url}/webhooks/twilio/sms/status"

    assert twilio.deliver_status(question.sid, "sent").status_code == 204
    assert twilio.deliver_status(question.sid, "delivered").status_code == 204
    twilio.deliver_status(question.sid, "sent")  # late and out of order: ignored
    shown = sms_server.wait_for(lambda: (d := delivery(sms_server, delivery_id))["status"] == "delivered" and d)
    assert [m["status"] for m in shown["messages"] if m["kind"] == "question"] == ["delivered"]

    assert reply(sms_server, twilio, "3") == ["Sorry about that. What went wrong?"]
    assert reply(sms_server, twilio, "The engineer never turned up") == ["Thank you!"]

    [response] = sms_server.api("GET", "/responses").json()["items"]
    assert (response["score"], response["comment"], response["channel"]) == (3, "The engineer never turned up", "sms")
    [case] = sms_server.api("GET", "/followups").json()["items"]
    assert (case["queue"], case["priority"]) == ("recovery", "high")

    agent = sms_server.api("POST", f"/followups/{case['id']}/reply", json={"text": "So sorry - we’ll call today."})
    assert agent.status_code == 200, agent.text
    [_, to_ada] = texted(twilio, sms_server, ADA["phone"], 2)
    assert to_ada.params["Body"] == "So sorry - we'll call today."  # GSM-7, not UCS-2
    assert reply(sms_server, twilio, "Thanks, that works") == []
    trail = sms_server.api("GET", f"/followups/{case['id']}").json()["activity"]
    assert [a["kind"] for a in trail][-2:] == ["reply", "customer_reply"]


def test_thanks_sent_in_twiml_is_tracked_by_its_status_callback(sms_server: Server, twilio: FakeTwilio) -> None:
    delivery_id = survey(sms_server, "o-1")
    texted(twilio, sms_server, ADA["phone"])
    params = inbound_sms_params(ADA["phone"], OUR_NUMBER, "10")
    answer = signed_post(f"{sms_server.url}/webhooks/twilio/sms", params, twilio.auth_token, timeout=10)
    [node] = ET.fromstring(answer.text).iter("Message")
    callback = node.attrib["statusCallback"]
    assert callback.startswith(f"{sms_server.url}/webhooks/twilio/sms/status?message=")
    status = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "delivered", "AccountSid": twilio.account_sid}
    assert signed_post(callback, status, twilio.auth_token, timeout=10).status_code == 204
    thanks = [m for m in delivery(sms_server, delivery_id)["messages"] if m["kind"] == "thanks"]
    assert [(m["status"], m["text"]) for m in thanks] == [("delivered", "Thank you!")]


def test_stop_mid_conversation_opts_out_and_the_next_survey_goes_by_email(
    sms_server: Server, twilio: FakeTwilio
) -> None:
    first = survey(sms_server, "o-1")
    texted(twilio, sms_server, ADA["phone"])
    [confirmation] = reply(sms_server, twilio, "STOP")
    assert "unsubscribed" in confirmation.lower() or "stop" in confirmation.lower()
    assert delivery(sms_server, first)["status"] == "cancelled"

    second = survey(sms_server, "o-2")
    sms_server.wait_for(lambda: delivery(sms_server, second)["status"] == "sent", what="the email survey")
    assert delivery(sms_server, second)["channel"] == "email"
    assert len([m for m in twilio.sent if m.params["To"] == ADA["phone"]]) == 1


def test_twilio_advanced_opt_out_is_not_confirmed_twice(sms_server: Server, twilio: FakeTwilio) -> None:
    survey(sms_server, "o-1")
    texted(twilio, sms_server, ADA["phone"])
    assert reply(sms_server, twilio, "STOP", OptOutType="STOP") == []
    second = survey(sms_server, "o-2")
    sms_server.wait_for(lambda: delivery(sms_server, second)["status"] == "sent", what="the email survey")
    assert delivery(sms_server, second)["channel"] == "email"
    assert reply(sms_server, twilio, "START", OptOutType="START") == []
    third = survey(sms_server, "o-3")
    assert delivery(sms_server, third)["channel"] == "sms"


def test_a_retried_webhook_is_answered_once(sms_server: Server, twilio: FakeTwilio) -> None:
    survey(sms_server, "o-1")
    texted(twilio, sms_server, ADA["phone"])
    params = inbound_sms_params(ADA["phone"], OUR_NUMBER, "9 - quick and friendly")
    url = f"{sms_server.url}/webhooks/twilio/sms"
    first = signed_post(url, params, twilio.auth_token, timeout=10)
    again = signed_post(url, params, twilio.auth_token, timeout=10)
    assert [n.text for n in ET.fromstring(first.text).iter("Message")] == ["Thank you!"]
    assert list(ET.fromstring(again.text).iter("Message")) == []
    [response] = sms_server.api("GET", "/responses").json()["items"]
    assert (response["score"], response["comment"]) == (9, "quick and friendly")


def test_forged_or_unsigned_webhooks_are_refused_and_store_nothing(sms_server: Server, twilio: FakeTwilio) -> None:
    delivery_id = survey(sms_server, "o-1")
    texted(twilio, sms_server, ADA["phone"])
    url = f"{sms_server.url}/webhooks/twilio/sms"
    params = inbound_sms_params(ADA["phone"], OUR_NUMBER, "0 you are the worst")
    forged = sign(url, params, "not-the-auth-token")
    assert requests.post(url, data=params, headers={"X-Twilio-Signature": forged}, timeout=10).status_code == 403
    assert requests.post(url, data=params, timeout=10).status_code == 403
    http_only = url.replace("http://", "https://")  # signed for another URL than the public one
    assert requests.post(url, data=params, headers={"X-Twilio-Signature": sign(http_only, params, twilio.auth_token)},
                         timeout=10).status_code == 403
    status_url = f"{sms_server.url}/webhooks/twilio/sms/status"
    assert requests.post(status_url, data={"MessageSid": "SMx", "MessageStatus": "failed"}, timeout=10).status_code \
        == 403
    assert [m["direction"] for m in delivery(sms_server, delivery_id)["messages"]] == ["out"]
    assert sms_server.api("GET", "/responses").json()["items"] == []


def test_a_storm_of_429s_delays_but_loses_and_doubles_nothing(sms_server: Server, twilio: FakeTwilio) -> None:
    twilio.fail_next(12, code=20429)
    contacts = [{"external_id": f"c{i}", "phone": f"+4479111234{i:02d}"} for i in range(15)]
    ids = [survey(sms_server, f"o-{i}", contact) for i, contact in enumerate(contacts)]
    sms_server.wait_for(lambda: all(delivery(sms_server, i)["status"] == "sent" for i in ids), timeout=60,
                        what="every survey despite the 429s")
    per_number = {c["phone"]: len([m for m in twilio.sent if m.params["To"] == c["phone"]]) for c in contacts}
    assert set(per_number.values()) == {1}
    assert len([r for r in twilio.requests if r.status == 429]) == 12


def test_a_number_twilio_rejects_falls_back_to_email(sms_server: Server, twilio: FakeTwilio) -> None:
    twilio.fail_for(ADA["phone"], code=21211)
    delivery_id = survey(sms_server, "o-1")
    shown = sms_server.wait_for(lambda: (d := delivery(sms_server, delivery_id))["channel"] == "email"
                                and d["status"] == "sent" and d, what="the fallback to email")
    assert any("21211" in (change["detail"] or "") for change in shown["history"])


def test_unsubscribed_at_twilio_opts_out_of_sms(sms_server: Server, twilio: FakeTwilio) -> None:
    twilio.fail_for(ADA["phone"], code=21610)
    first = survey(sms_server, "o-1")
    sms_server.wait_for(lambda: delivery(sms_server, first)["channel"] == "email", what="the fallback")
    twilio.reset()
    second = survey(sms_server, "o-2")
    assert delivery(sms_server, second)["channel"] == "email"


def test_undelivered_status_moves_the_survey_to_email(sms_server: Server, twilio: FakeTwilio) -> None:
    delivery_id = survey(sms_server, "o-1")
    [question] = texted(twilio, sms_server, ADA["phone"])
    twilio.deliver_status(question.sid, "undelivered", error_code=30005)
    shown = sms_server.wait_for(lambda: (d := delivery(sms_server, delivery_id))["status"] == "sent"
                                and d["channel"] == "email" and d, what="the email survey")
    assert any("30005" in (change["detail"] or "") for change in shown["history"])


def test_whatsapp_uses_the_template_outside_the_session_and_text_inside(
    sms_server: Server, twilio: FakeTwilio
) -> None:
    survey(sms_server, "chat-1", type_="chat.closed")
    to = f"whatsapp:{ADA['phone']}"
    [question] = texted(twilio, sms_server, to)
    assert question.params["From"] == f"whatsapp:{OUR_NUMBER}"
    assert question.params["ContentSid"].startswith("HX") and "Body" not in question.params
    assert "How likely" in question.params["ContentVariables"]

    assert reply(sms_server, twilio, "10", sender=to) == ["Thank you!"]
    survey(sms_server, "chat-2", type_="chat.closed")
    [_, inside] = texted(twilio, sms_server, to, 2)
    assert inside.params["Body"].startswith("Hi Ada!") and "ContentSid" not in inside.params


def test_the_documented_inbound_payload_is_answered(sms_server: Server, twilio: FakeTwilio) -> None:
    fixture = Path(__file__).resolve().parents[1] / "channels" / "twilio" / "fixtures"
    params = json.loads((fixture / "inbound_sms.assembled_from_docs.json").read_text(encoding="utf-8"))
    caller = {"external_id": "docs", "name": "Grace Hopper", "phone": params["From"]}
    delivery_id = survey(sms_server, "o-docs", caller)
    texted(twilio, sms_server, caller["phone"])
    answer = signed_post(f"{sms_server.url}/webhooks/twilio/sms", params, twilio.auth_token, timeout=10)
    assert [n.text for n in ET.fromstring(answer.text).iter("Message")] == ["Thank you!"]
    assert delivery(sms_server, delivery_id)["response"]["score"] == 9
