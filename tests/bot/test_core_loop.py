"""The core loop in one process: event -> delivery -> worker -> sandbox message -> reply -> response."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlmodel import select

from bot.app import create_app
from bot.dispatch import Send, SendMarks, call_provider, prepare_batch, record_outcomes
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


def customer(i: int) -> dict[str, str]:
    return {"external_id": f"cust-{i}", "name": "Ada Lovelace", "phone": f"+44791112340{i}"}


def claim_and_prepare(rt: Runtime) -> list[Send]:
    with rt.session() as session:
        claimed = claim_due_deliveries(session, utcnow(), 10, timedelta(minutes=5))
    with rt.session() as session:
        return prepare_batch(rt, session, claimed)


def run_out_leases(rt: Runtime) -> None:
    """As if the worker holding them had died a while ago."""
    with rt.session() as session:
        past = utcnow() - timedelta(seconds=1)
        session.execute(sa.update(Delivery).where(Delivery.lease_until.is_not(None)).values(lease_until=past))


def throttle_query(statement: str) -> bool:
    """The re-check of the throttle just before sending."""
    return "max(" in statement and "sent_at" in statement


def send_start(statement: str) -> bool:
    """The mark that a delivery's provider call starts."""
    return "UPDATE delivery SET status" in statement and "expires_at" in statement


@contextmanager
def database_fails(rt: Runtime, at: Callable[[str], bool], stays_down: bool = False) -> Iterator[None]:
    """The database drops the connection on the first statement matching `at` (and on every one after it while
    `stays_down`), raising the driver's own error as a dropped connection would."""
    down = [False]

    def fail(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if (down[0] and stays_down) or (not down[0] and at(statement)):
            down[0] = True
            raise rt.engine.dialect.loaded_dbapi.OperationalError("server closed the connection unexpectedly")

    sa.event.listen(rt.engine, "before_cursor_execute", fail)
    try:
        yield
    finally:
        sa.event.remove(rt.engine, "before_cursor_execute", fail)


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
        other.close()


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
    [question] = claim_and_prepare(rt)
    assert SendMarks(rt).start(question)  # the provider call starts; the worker dies before it returns
    run_out_leases(rt)
    report = tick(rt)
    assert report.unknown == 1 and report.sent == 0
    shown = delivery(client, auth, planned["id"])
    assert shown["status"] == "unknown"
    assert [h["status"] for h in shown["history"]] == ["scheduled", "sending", "unknown"]
    assert sandbox(client, auth, "+447911123456") == []


def test_a_claim_whose_worker_died_before_the_send_goes_back_to_the_queue(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml())
    [planned] = post_event(client, auth, event())["deliveries"]
    with rt.session() as session:
        assert claim_due_deliveries(session, utcnow(), 10, timedelta(minutes=5)) == [planned["id"]]
    run_out_leases(rt)  # the worker died between its claim and any provider call
    report = tick(rt)
    assert (report.unknown, report.sent) == (0, 1)
    shown = delivery(client, auth, planned["id"])
    assert (shown["status"], shown["attempts"]) == ("sent", 1)
    assert "claim ran out" in shown["history"][1]["detail"]
    assert len(sandbox(client, auth, "+447911123456")) == 1


def test_a_database_error_before_any_send_puts_the_batch_back(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml())
    ids = [post_event(client, auth, event(f"e-{i}", contact=customer(i)))["deliveries"][0]["id"] for i in range(3)]
    with database_fails(rt, at=throttle_query), pytest.raises(sa.exc.OperationalError):
        tick(rt)  # the throttle re-check fails after the claim, before any provider call
    shown = [delivery(client, auth, i) for i in ids]
    assert [(d["status"], d["attempts"]) for d in shown] == [("scheduled", 0)] * 3
    assert all("not sent: database error" in d["history"][-1]["detail"] for d in shown)
    report = tick(rt)
    assert (report.sent, report.unknown) == (3, 0)
    assert [delivery(client, auth, i)["status"] for i in ids] == ["sent"] * 3
    assert all(len(sandbox(client, auth, customer(i)["phone"])) == 1 for i in range(3))


def test_a_batch_claimed_while_the_database_went_away_is_sent_once_it_is_back(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml())
    ids = [post_event(client, auth, event(f"e-{i}", contact=customer(i)))["deliveries"][0]["id"] for i in range(3)]
    with database_fails(rt, at=throttle_query, stays_down=True), pytest.raises(sa.exc.OperationalError):
        tick(rt)  # nothing can be written back either: the claim stays until its lease runs out
    run_out_leases(rt)
    report = tick(rt)
    assert (report.sent, report.unknown) == (3, 0)
    assert [delivery(client, auth, i)["status"] for i in ids] == ["sent"] * 3


def test_a_database_error_as_a_send_starts_puts_back_only_that_one(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml())
    ids = [post_event(client, auth, event(f"e-{i}", contact=customer(i)))["deliveries"][0]["id"] for i in range(3)]
    with database_fails(rt, at=send_start):
        report = tick(rt)
    assert (report.sent, report.unknown) == (2, 0)
    first = delivery(client, auth, ids[0])
    assert (first["status"], first["attempts"]) == ("scheduled", 0)
    assert "not sent: database error" in first["history"][-1]["detail"]
    assert sandbox(client, auth, customer(0)["phone"]) == []
    assert tick(rt).sent == 1
    assert [delivery(client, auth, i)["status"] for i in ids] == ["sent"] * 3


def test_a_reply_to_a_survey_whose_send_is_unknown_is_its_answer(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml())
    [planned] = post_event(client, auth, event())["deliveries"]
    questions = claim_and_prepare(rt)  # the worker's first steps
    [outcome] = [call_provider(rt, question) for question in questions]
    assert outcome.result is not None  # the provider took it; the worker dies before recording that
    run_out_leases(rt)
    assert tick(rt).unknown == 1
    assert delivery(client, auth, planned["id"])["status"] == "unknown"

    first = reply(client, auth, "sms", "+447911123456", "9")
    assert first["intent"] == "answer" and first["delivery_id"] == planned["id"]
    reply(client, auth, "sms", "+447911123456", "Quick delivery")
    shown = delivery(client, auth, planned["id"])
    assert (shown["status"], shown["response"]["score"]) == ("completed", 9)
    assert shown["response"]["comment"] == "Quick delivery"
    assert [h["status"] for h in shown["history"]] == [
        "scheduled", "sending", "unknown", "delivered", "answered", "completed"
    ]
    assert "replied" in shown["history"][3]["detail"]
    assert shown["sent_at"] is not None


def test_an_unknown_survey_past_its_expiry_takes_no_reply(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml())
    [planned] = post_event(client, auth, event())["deliveries"]
    [question] = claim_and_prepare(rt)
    SendMarks(rt).start(question)
    run_out_leases(rt)
    tick(rt)
    with rt.session() as session:
        row = session.get(Delivery, planned["id"])
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    assert reply(client, auth, "sms", "+447911123456", "9")["intent"] == "unmatched"
    assert delivery(client, auth, planned["id"])["response"] is None


def test_a_reply_that_beats_the_recording_of_its_send_is_answered(
    rt: Runtime, client: FlaskClient, auth: dict[str, str]
) -> None:
    install_flow(rt, flow_yaml())
    [planned] = post_event(client, auth, event())["deliveries"]
    questions = claim_and_prepare(rt)  # the worker's first steps
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
