"""The core loop in one process: event -> delivery -> worker -> sandbox message -> reply -> response."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlmodel import select

from bot.app import create_app
from bot.dispatch import call_provider, prepare_batch, record_outcomes
from bot.runtime import Runtime
from bot.settings import Settings
from storage.deliveries import claim_due_deliveries
from storage.flow_versions import retire_flow
from storage.models import Delivery, Message, Response
from storage.types import utcnow
from tests.helpers import event, flow_yaml, install_flow, tick


def post_event(client: FlaskClient, auth: dict[str, str], body: dict) -> dict:
    response = client.post("/api/v1/events", json=body, headers=auth)
    assert response.status_code in (200, 202), response.get_json()
    return response.get_json()


def sandbox(client: FlaskClient, auth: dict[str, str], to: str) -> list[dict]:
    return client.get("/api/v1/sandbox/messages", query_string={"to": to}, headers=auth).get_json()["items"]


def reply(client: FlaskClient, auth: dict[str, str], channel: str, sender: str, text: str) -> dict:
    response = client.post(
        "/api/v1/sandbox/inbound", json={"channel": channel, "from": sender, "text": text}, headers=auth
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def delivery(client: FlaskClient, auth: dict[str, str], delivery_id: int) -> dict:
    return client.get(f"/api/v1/deliveries/{delivery_id}", headers=auth).get_json()


def test_event_becomes_a_question_and_a_reply_with_comment_becomes_a_response(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml())
    accepted = post_event(client, auth, event())
    assert accepted["duplicate"] is False and accepted["skipped"] == []
    [planned] = accepted["deliveries"]
    assert planned["channel"] == "sms" and planned["status"] == "scheduled"

    assert tick(rt).sent == 1
    [question] = sandbox(client, auth, "+447911123456")
    assert question["text"] == "Hi Ada! How likely are you to recommend us? Reply 0-10."
    assert question["delivery_id"] == planned["id"]

    answer = reply(client, auth, "sms", "+447911123456", "8 - good but the website is slow")
    assert answer["intent"] == "answer"
    assert [r["kind"] for r in answer["replies"]] == ["thanks"]

    shown = delivery(client, auth, planned["id"])
    assert shown["status"] == "completed"
    assert [h["status"] for h in shown["history"]] == [
        "scheduled",
        "sending",
        "sent",
        "answered",
        "completed",
    ]
    assert shown["response"]["score"] == 8
    assert shown["response"]["band"] == "passive"
    assert shown["response"]["comment"] == "good but the website is slow"
    texts = [m["text"] for m in sandbox(client, auth, "+447911123456")]
    assert texts[-1] == "Thank you!"

    listed = client.get("/api/v1/responses", headers=auth).get_json()
    assert [(i["score"], i["contact"]["external_id"]) for i in listed["items"]] == [(8, "cust-1")]


def test_score_then_comment_then_thanks(rt: Runtime, client: FlaskClient, auth: dict[str, str]) -> None:
    install_flow(rt, flow_yaml())
    [planned] = post_event(client, auth, event())["deliveries"]
    tick(rt)
    first = reply(client, auth, "sms", "+447911123456", "3")
    assert [r["text"] for r in first["replies"]] == ["Sorry about that. What went wrong?"]
    assert delivery(client, auth, planned["id"])["status"] == "answered"
    second = reply(client, auth, "sms", "+447911123456", "The parcel was left in the rain")
    assert second["intent"] == "comment"
    shown = delivery(client, auth, planned["id"])
    assert shown["status"] == "completed"
    assert shown["response"]["score"] == 3 and shown["response"]["band"] == "detractor"
    assert shown["response"]["comment"] == "The parcel was left in the rain"


def test_a_bare_number_while_awaiting_the_comment_corrects_the_score(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml())
    [planned] = post_event(client, auth, event())["deliveries"]
    tick(rt)
    reply(client, auth, "sms", "+447911123456", "10")
    corrected = reply(client, auth, "sms", "+447911123456", "4")
    assert corrected["intent"] == "score_correction"
    assert delivery(client, auth, planned["id"])["response"]["band"] == "detractor"


def test_two_unusable_replies_reprompt_once_then_close_politely(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml())
    [planned] = post_event(client, auth, event())["deliveries"]
    tick(rt)
    first = reply(client, auth, "sms", "+447911123456", "meh")
    assert first["intent"] == "reprompt"
    assert "0 to 10" in first["replies"][0]["text"]
    second = reply(client, auth, "sms", "+447911123456", "7 or 8")
    assert second["intent"] == "reprompt"
    shown = delivery(client, auth, planned["id"])
    assert shown["status"] == "completed"
    assert shown["response"]["score"] is None and shown["response"]["comment"] == "7 or 8"


def test_resent_event_is_a_duplicate_and_changes_nothing(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml())
    first = client.post("/api/v1/events", json=event(), headers=auth)
    again = client.post("/api/v1/events", json=event(), headers=auth)
    assert first.status_code == 202 and again.status_code == 200
    assert again.get_json()["duplicate"] is True
    assert again.get_json()["event_id"] == first.get_json()["event_id"]
    assert again.get_json()["deliveries"] == first.get_json()["deliveries"]
    with rt.session() as session:
        assert len(session.exec(select(Delivery)).all()) == 1


def test_where_filters_choose_the_flow(rt: Runtime, client: FlaskClient, auth: dict[str, str]) -> None:
    install_flow(rt, flow_yaml(where="country: [GB, IE]"))
    assert post_event(client, auth, event("e-fr", properties={"country": "FR"}))["deliveries"] == []
    assert len(post_event(client, auth, event("e-ie", properties={"country": "IE"}))["deliveries"]) == 1


def test_flows_changed_by_another_process_apply_to_the_next_event(
    rt: Runtime, client: FlaskClient, auth: dict[str, str], settings: Settings
) -> None:
    install_flow(rt, flow_yaml("first"))
    assert [d["flow"] for d in post_event(client, auth, event("e-1"))["deliveries"]] == ["first"]
    other = create_app(settings).extensions["touchpoint"]  # a second web process on the same database
    try:
        install_flow(other, flow_yaml("second"))
        with other.session() as session:
            retire_flow(session, "first")
        assert [d["flow"] for d in post_event(client, auth, event("e-2"))["deliveries"]] == ["second"]
        install_flow(other, flow_yaml("first", channels="[email]"))
        with other.session() as session:
            retire_flow(session, "second")
        assert [d["flow"] for d in post_event(client, auth, event("e-3"))["deliveries"]] == ["first"]
        assert post_event(client, auth, event("e-3b"))["deliveries"][0]["channel"] == "email"
    finally:
        other.engine.dispose()


def test_stop_opts_out_cancels_and_the_next_survey_falls_back_to_email(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml())
    [planned] = post_event(client, auth, event("e1"))["deliveries"]
    tick(rt)
    stop = reply(client, auth, "sms", "+447911123456", "Stop texting me")
    assert stop["intent"] == "opt_out"
    assert [r["kind"] for r in stop["replies"]] == ["opt_out"]
    assert delivery(client, auth, planned["id"])["status"] == "cancelled"

    [second] = post_event(client, auth, event("e2"))["deliveries"]
    assert second["channel"] == "email"

    start = reply(client, auth, "sms", "+447911123456", "START")
    assert start["intent"] == "opt_in"
    [third] = post_event(client, auth, event("e3"))["deliveries"]
    assert third["channel"] == "sms"


def test_unreachable_contact_is_skipped_with_the_reason(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml())
    body = post_event(client, auth, event(contact={"external_id": "nobody"}))
    assert body["deliveries"] == []
    assert body["skipped"] == [{"flow": "nps-test", "reason": "unreachable"}]


def test_throttle_spares_a_recently_surveyed_contact_across_flows(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml("first", extra="throttle: 30d\n"))
    install_flow(rt, flow_yaml("second", event="ticket.solved", extra="throttle: 30d\n"))
    assert len(post_event(client, auth, event("a"))["deliveries"]) == 1
    skipped = post_event(client, auth, event("b", type_="ticket.solved"))["skipped"]
    assert skipped == [{"flow": "second", "reason": "throttled"}]


def test_delay_and_quiet_hours_set_the_due_time(rt: Runtime, client: FlaskClient, auth: dict[str, str]) -> None:
    install_flow(rt, flow_yaml(delay="2h", extra='quiet_hours: "21:00-08:00"\n'))
    contact = {"external_id": "tz", "phone": "+12025550142", "timezone": "America/New_York"}
    # 01:00 UTC in January is 20:00 in New York: two hours later it is 22:00, inside quiet hours,
    # so the survey waits for 08:00 New York time (13:00 UTC).
    body = event(contact=contact, occurred_at=f"{utcnow().year + 1}-01-15T01:00:00Z")
    [planned] = post_event(client, auth, body)["deliveries"]
    assert planned["due_at"] == f"{utcnow().year + 1}-01-15T13:00:00Z"
    assert tick(rt).sent == 0
    assert delivery(client, auth, planned["id"])["status"] == "scheduled"


def test_comment_prompts_and_thanks_are_rendered_for_the_contact(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    sorry = '"Sorry {{ contact.first_name }}, what went wrong?"'
    text = flow_yaml().replace('"Sorry about that. What went wrong?"', sorry)
    install_flow(rt, text.replace('thanks: {en: "Thank you!"}', 'thanks: {en: "Thanks {{ contact.first_name }}!"}'))
    post_event(client, auth, event())
    tick(rt)
    assert reply(client, auth, "sms", "+447911123456", "2")["replies"][0]["text"] == "Sorry Ada, what went wrong?"
    assert reply(client, auth, "sms", "+447911123456", "late")["replies"][0]["text"] == "Thanks Ada!"


def test_temporary_errors_retry_until_the_provider_accepts(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml(channels="[email]"))
    contact = {"external_id": "flaky", "email": "tempfail-2@example.com"}
    [planned] = post_event(client, auth, event(contact=contact))["deliveries"]
    for _ in range(3):
        tick(rt)
    shown = delivery(client, auth, planned["id"])
    assert shown["status"] == "sent"
    assert shown["attempts"] == 3
    assert len(sandbox(client, auth, "tempfail-2@example.com")) == 1


def test_permanent_error_falls_back_to_the_next_channel(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml(channels="[email, sms]"))
    contact = {"external_id": "bouncy", "email": "permfail@example.com", "phone": "+447911123999"}
    [planned] = post_event(client, auth, event(contact=contact))["deliveries"]
    tick(rt)
    tick(rt)
    shown = delivery(client, auth, planned["id"])
    assert shown["status"] == "sent" and shown["channel"] == "sms"
    assert any("fallback from email" in (h["detail"] or "") for h in shown["history"])
    assert sandbox(client, auth, "permfail@example.com") == []


def test_permanent_error_without_fallback_fails(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml(channels="[email]"))
    [planned] = post_event(
        client, auth, event(contact={"external_id": "x", "email": "permfail@example.com"})
    )["deliveries"]
    tick(rt)
    assert delivery(client, auth, planned["id"])["status"] == "failed"


def test_a_send_whose_worker_died_becomes_unknown_and_is_never_resent(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml())
    [planned] = post_event(client, auth, event())["deliveries"]
    with rt.session() as session:
        claimed = claim_due_deliveries(session, utcnow(), 10, timedelta(seconds=-1))
    assert claimed == [planned["id"]]
    report = tick(rt)
    assert report.unknown == 1 and report.sent == 0
    assert delivery(client, auth, planned["id"])["status"] == "unknown"
    assert sandbox(client, auth, "+447911123456") == []


def test_a_reply_that_beats_the_recording_of_its_send_is_answered(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml())
    [planned] = post_event(client, auth, event())["deliveries"]
    with rt.session() as session:
        claimed = claim_due_deliveries(session, utcnow(), 10, timedelta(minutes=5))
    with rt.session() as session:
        questions = prepare_batch(rt, session, claimed)
    outcomes = [call_provider(rt, question) for question in questions]  # the worker's steps, one at a time
    assert [outcome.result is not None for outcome in outcomes] == [True]  # the provider took the question
    reply(client, auth, "sms", "+447911123456", "9")  # before the worker has recorded the send
    with rt.session() as session:
        assert record_outcomes(rt, session, outcomes) == 1
    shown = delivery(client, auth, planned["id"])
    assert (shown["status"], shown["response"]["score"]) == ("answered", 9)
    assert [h["status"] for h in shown["history"]] == ["scheduled", "sending", "answered", "sent"]
    assert shown["sent_at"] is not None


def test_one_reminder_when_unanswered_then_expiry_and_late_answers(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml(extra="reminder: 1d\n"))
    [planned] = post_event(client, auth, event())["deliveries"]
    tick(rt)
    with rt.session() as session:
        row = session.get(Delivery, planned["id"])
        row.reminder_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    assert tick(rt).reminders == 1
    assert tick(rt).reminders == 0
    kinds = [m["kind"] for m in delivery(client, auth, planned["id"])["messages"]]
    assert kinds == ["question", "reminder"]

    with rt.session() as session:
        row = session.get(Delivery, planned["id"])
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    assert tick(rt).expired == 1
    late = reply(client, auth, "sms", "+447911123456", "9")
    assert late["intent"] == "late" and late["replies"] == []
    assert delivery(client, auth, planned["id"])["response"] is None
    with rt.session() as session:
        stored = session.exec(select(Message).where(Message.kind == "late")).all()
        assert [m.text for m in stored] == ["9"]
        assert session.exec(select(Response)).all() == []


def test_reply_from_a_stranger_is_stored_and_ignored(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    result = reply(client, auth, "sms", "+447911123555", "10")
    assert result["intent"] == "unmatched"
    assert result["replies"] == []
    with rt.session() as session:
        [stored] = session.exec(select(Message).where(Message.direction == "in")).all()
        assert stored.text == "10" and stored.processed_at is not None
