"""Closing the loop, measured: "did we fix it?" after resolution, kept out of the flow's metrics, and the queue's
figures."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlmodel import select

from bot.followups import case_view
from bot.runtime import Runtime
from channels.slack.blocks import case_card
from storage.models import Delivery, FollowUp
from storage.types import utcnow
from tests.helpers import event, flow_yaml, install_flow, tick

PHONE = "+447911123456"
FLOW = flow_yaml(ask="detractors", extra="""\
throttle: 30d
routing:
  - when: {band: detractor}
    queue: recovery
""")


def sms(client: FlaskClient, auth: dict, text: str) -> None:
    client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": PHONE, "text": text}, headers=auth)


def sent(client: FlaskClient, auth: dict) -> list[str]:
    items = client.get("/api/v1/sandbox/messages", query_string={"to": PHONE}, headers=auth).get_json()["items"]
    return [m["text"] for m in items]


def resolved_case(rt: Runtime, client: FlaskClient, auth: dict, recheck: str | None = "3d") -> int:
    install_flow(rt, FLOW)
    if recheck is not None:
        client.patch("/api/v1/queues/recovery", json={"recheck_after": recheck}, headers=auth)
    client.post("/api/v1/events", json=event(), headers=auth)
    tick(rt)
    sms(client, auth, "3")
    sms(client, auth, "The parcel was crushed")
    [case] = client.get("/api/v1/followups", headers=auth).get_json()["items"]
    client.post(f"/api/v1/followups/{case['id']}/reply", json={"text": "Sorry! A new one is on its way."},
                headers=auth)
    client.post(f"/api/v1/followups/{case['id']}/resolve", json={"note": "sent a new one"}, headers=auth)
    return case["id"]


def recheck_of(rt: Runtime, case_id: int) -> Delivery | None:
    with rt.session() as session:
        return session.exec(select(Delivery).where(Delivery.recheck_of == case_id)).first()


def make_due(rt: Runtime, case_id: int) -> None:
    with rt.session() as session:
        delivery = session.exec(select(Delivery).where(Delivery.recheck_of == case_id)).one()
        delivery.due_at = utcnow() - timedelta(seconds=1)


def test_a_queue_asks_nothing_after_resolution_unless_it_is_set_to(rt: Runtime, client: FlaskClient,
                                                                  auth: dict) -> None:
    case_id = resolved_case(rt, client, auth, recheck=None)
    assert recheck_of(rt, case_id) is None
    assert client.get("/api/v1/queues/recovery", headers=auth).get_json()["recheck_after"] is None


def test_did_we_fix_it_asks_the_same_question_later_and_its_answer_joins_the_case_not_the_metrics(
    rt: Runtime, client: FlaskClient, auth: dict
) -> None:
    case_id = resolved_case(rt, client, auth)
    recheck = recheck_of(rt, case_id)
    assert recheck is not None and (recheck.status, recheck.channel) == ("scheduled", "sms")
    assert timedelta(days=3) - timedelta(minutes=1) < recheck.due_at - utcnow() <= timedelta(days=3)
    metrics = client.get("/api/v1/metrics", headers=auth).get_json()
    tick(rt)
    assert recheck_of(rt, case_id).status == "scheduled"  # type: ignore[union-attr]  # not due yet
    make_due(rt, case_id)
    tick(rt)  # the flow's 30-day throttle does not hold it back: the case's own survey went out days ago
    question = sent(client, auth)[-1]
    assert question.startswith("We followed up on your earlier answer and would like to know whether it helped. "
                               "Hi Ada! How likely are you to recommend us?")
    sms(client, auth, "9")
    assert sent(client, auth)[-1] == "Thank you!"
    assert client.get("/api/v1/metrics", headers=auth).get_json() == metrics
    assert [r["score"] for r in client.get("/api/v1/responses", headers=auth).get_json()["items"]] == [3]
    case = client.get(f"/api/v1/followups/{case_id}", headers=auth).get_json()
    assert case["status"] == "resolved"
    assert [(a["kind"], a["detail"]) for a in case["activity"]][-2:] == [
        ("recheck_scheduled", f"{recheck.due_at:%Y-%m-%d %H:%M} UTC"), ("recheck_answered", "9 (promoter)")]
    thread = client.get(f"/api/v1/followups/{case_id}/thread", headers=auth).get_json()["items"]
    texts = [e["message"]["text"] for e in thread if e["message"]]
    assert texts[-3:] == [question, "9", "Thank you!"]
    answers = client.get(f"/api/v1/followups/{case_id}/customer-answers", headers=auth).get_json()["items"]
    assert [(a["response"]["score"], a["response"]["recheck_of"]) for a in answers] == [(9, case_id), (3, None)]
    with rt.session() as session:
        view = case_view(session, case_id)
    assert view is not None and view.recheck == (9, "promoter")
    assert ":white_check_mark: *Did we fix it?* NPS 9 (promoter)" in str(case_card(view)[1])


def test_a_detractors_answer_reopens_the_case(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    case_id = resolved_case(rt, client, auth)
    make_due(rt, case_id)
    tick(rt)
    sms(client, auth, "2")
    case = client.get(f"/api/v1/followups/{case_id}", headers=auth).get_json()
    assert (case["status"], case["resolved_at"]) == ("open", None)
    assert [(a["kind"], a["actor"]) for a in case["activity"]][-2:] == [("recheck_answered", None),
                                                                        ("reopened", None)]
    assert sent(client, auth)[-1] == "Sorry about that. What went wrong?"
    sms(client, auth, "Still broken")  # the comment on the re-survey, not a second case
    assert len(client.get("/api/v1/followups", headers=auth).get_json()["items"]) == 1


def test_reopening_cancels_a_re_survey_not_sent_yet(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    case_id = resolved_case(rt, client, auth)
    client.post(f"/api/v1/followups/{case_id}/reopen", json={"reason": "she called"}, headers=auth)
    assert recheck_of(rt, case_id).status == "cancelled"  # type: ignore[union-attr]


def test_queue_figures_measure_first_response_resolution_sla_and_recovery(
    rt: Runtime, client: FlaskClient, auth: dict
) -> None:
    case_id = resolved_case(rt, client, auth)
    make_due(rt, case_id)
    tick(rt)
    sms(client, auth, "8")
    queue = client.get("/api/v1/queues/recovery", headers=auth).get_json()
    figures = queue["figures"]
    assert queue["recheck_after"] == "3d"
    assert (figures["cases"], figures["replied"], figures["resolved"], figures["sla_kept"]) == (1, 1, 1, 1.0)
    assert (figures["rechecks_answered"], figures["recovery_rate"]) == (1, 1.0)
    with rt.session() as session:
        case = session.get(FollowUp, case_id)
        assert case is not None and case.first_reply_at is not None and case.resolved_at is not None
        first, resolution = case.first_reply_at - case.created_at, case.resolved_at - case.created_at
    assert abs(figures["avg_first_response_seconds"] - first.total_seconds()) < 0.2
    assert abs(figures["avg_resolution_seconds"] - resolution.total_seconds()) < 0.2
    later = client.get("/api/v1/queues", query_string={"since": "2999-01-01T00:00:00Z"}, headers=auth)
    assert later.status_code == 422 and later.get_json()["error"]["details"][0]["field"] == "since"
    empty = client.get("/api/v1/queues", query_string={"until": "2000-01-01T00:00:00Z"}, headers=auth).get_json()
    assert empty["items"][0]["figures"] | {"since": None, "until": None} == {
        "since": None, "until": None, "cases": 0, "replied": 0, "avg_first_response_seconds": None, "resolved": 0,
        "avg_resolution_seconds": None, "sla_kept": None, "rechecks_answered": 0, "recovery_rate": None}


def test_the_re_survey_delay_is_checked_and_can_be_turned_off(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    for value, message in [("soon", "not a duration"), ("0m", "at least 1m"), ("91d", "at most 90d")]:
        wrong = client.patch("/api/v1/queues/recovery", json={"recheck_after": value}, headers=auth)
        assert wrong.status_code == 422 and wrong.get_json()["error"]["details"][0]["field"] == "recheck_after"
        assert message in wrong.get_json()["error"]["details"][0]["message"]
    assert client.patch("/api/v1/queues/recovery", json={"recheck_after": "2h"}, headers=auth).get_json()[
        "recheck_after"] == "2h"
    assert client.patch("/api/v1/queues/recovery", json={"recheck_after": None}, headers=auth).get_json()[
        "recheck_after"] is None
