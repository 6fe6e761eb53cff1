"""Follow-up cases through the API: routing, the agent's actions, and the errors that protect them."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient

from bot.runtime import Runtime
from storage.models import FollowUp
from storage.types import utcnow
from tests.helpers import event, flow_yaml, install_flow, tick

ROUTING = """\
routing:
  - when: {band: detractor}
    queue: recovery
    priority: high
    sla: 4h
  - when: {theme: price}
    queue: pricing
"""
PHONE = "+447911123456"


def detractor_case(rt: Runtime, client: FlaskClient, auth: dict) -> dict:
    install_flow(rt, flow_yaml(ask="never", extra=ROUTING))
    client.post("/api/v1/events", json=event(), headers=auth)
    tick(rt)
    client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": PHONE, "text": "1"}, headers=auth)
    [case] = client.get("/api/v1/followups", headers=auth).get_json()["items"]
    return case


def test_a_rule_naming_a_new_queue_creates_it_with_a_24h_sla(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    install_flow(rt, flow_yaml(ask="never", extra=ROUTING))
    client.post("/api/v1/events", json=event(), headers=auth)
    tick(rt)
    text = "8 - fine but the price went up again"
    client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": PHONE, "text": text}, headers=auth)
    [case] = client.get("/api/v1/followups", headers=auth).get_json()["items"]
    assert (case["queue"], case["priority"]) == ("pricing", "normal")
    queue = client.get("/api/v1/queues/pricing", headers=auth).get_json()
    assert (queue["sla"], queue["open"]) == ("1d", 1)


def test_unknown_cases_and_queues_are_404(client: FlaskClient, auth: dict) -> None:
    for path in ("/api/v1/followups/4242", "/api/v1/queues/nope"):
        assert client.get(path, headers=auth).status_code == 404
    response = client.post("/api/v1/followups/4242/claim", json={}, headers=auth)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_an_empty_reply_is_422_and_sends_nothing(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    case = detractor_case(rt, client, auth)
    before = client.get("/api/v1/sandbox/messages", query_string={"to": PHONE}, headers=auth).get_json()["items"]
    response = client.post(f"/api/v1/followups/{case['id']}/reply", json={"text": "   "}, headers=auth)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "text"
    after = client.get("/api/v1/sandbox/messages", query_string={"to": PHONE}, headers=auth).get_json()["items"]
    assert after == before


def test_a_reply_to_an_opted_out_customer_is_409_and_sends_nothing(
    rt: Runtime, client: FlaskClient, auth: dict
) -> None:
    case = detractor_case(rt, client, auth)
    client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": PHONE, "text": "STOP"}, headers=auth)
    before = client.get("/api/v1/sandbox/messages", query_string={"to": PHONE}, headers=auth).get_json()["items"]
    response = client.post(f"/api/v1/followups/{case['id']}/reply", json={"text": "Sorry!"}, headers=auth)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "opted_out"
    after = client.get("/api/v1/sandbox/messages", query_string={"to": PHONE}, headers=auth).get_json()["items"]
    assert after == before
    kinds = [a["kind"] for a in client.get(f"/api/v1/followups/{case['id']}", headers=auth).get_json()["activity"]]
    assert "reply" not in kinds


def test_resolving_twice_is_409(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    case = detractor_case(rt, client, auth)
    assert client.post(f"/api/v1/followups/{case['id']}/resolve", headers=auth).status_code == 200
    again = client.post(f"/api/v1/followups/{case['id']}/resolve", headers=auth)
    assert again.status_code == 409
    claim = client.post(f"/api/v1/followups/{case['id']}/claim", json={"assignee": "x"}, headers=auth)
    assert claim.status_code == 409


def test_followups_filter_by_queue_and_status(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    case = detractor_case(rt, client, auth)
    assert client.get("/api/v1/followups?queue=pricing", headers=auth).get_json()["items"] == []
    assert [c["id"] for c in client.get("/api/v1/followups?status=open", headers=auth).get_json()["items"]] == [
        case["id"]
    ]
    client.post(f"/api/v1/followups/{case['id']}/claim", json={}, headers=auth)
    claimed = client.get("/api/v1/followups?status=claimed", headers=auth).get_json()["items"]
    assert claimed[0]["assignee"] == "tests"


def test_metrics_come_from_stored_answers(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    install_flow(rt, flow_yaml(ask="never"))
    phones = ["+447911000001", "+447911000002", "+447911000003", "+447911000004"]
    for i, phone in enumerate(phones):
        client.post("/api/v1/events", json=event(f"e{i}", contact={"external_id": f"c{i}", "phone": phone}),
                    headers=auth)
    tick(rt)
    for phone, text in zip(phones[:3], ["10", "9 - lovely", "3 - awful, slow and rude"], strict=True):
        client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": phone, "text": text}, headers=auth)
    metrics = client.get("/api/v1/metrics", headers=auth).get_json()
    assert metrics["sent"] == 4 and metrics["responses"] == 3
    assert metrics["response_rate"] == 0.75
    assert metrics["nps"] == round((2 - 1) * 100 / 3, 1)
    assert metrics["csat"] is None and metrics["ces"] is None
    assert metrics["sentiment"]["negative"] == 1 and metrics["sentiment"]["positive"] == 1
    install_flow(rt, flow_yaml("other", event="order.returned"))
    assert client.get("/api/v1/metrics?flow=other", headers=auth).get_json()["sent"] == 0


def test_erasing_a_contact_keeps_the_numbers_and_removes_what_identifies_them(
    rt: Runtime, client: FlaskClient, auth: dict
) -> None:
    case = detractor_case(rt, client, auth)
    client.post(f"/api/v1/followups/{case['id']}/notes", json={"text": "called Ann on her mobile"}, headers=auth)
    client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": PHONE, "text": "the box was crushed"},
                headers=auth)
    before = client.get("/api/v1/metrics", headers=auth).get_json()

    assert client.delete("/api/v1/contacts/cust-1", headers=auth).status_code == 204

    assert client.get("/api/v1/metrics", headers=auth).get_json() == before
    [response] = client.get("/api/v1/responses", headers=auth).get_json()["items"]
    assert (response["score"], response["comment"]) == (1, None)
    assert response["contact"]["external_id"].startswith("erased:")
    shown = client.get(f"/api/v1/followups/{case['id']}", headers=auth).get_json()
    assert all(entry["text"] is None for entry in shown["activity"])
    messages = client.get("/api/v1/sandbox/messages", query_string={"to": PHONE}, headers=auth).get_json()["items"]
    assert messages == []
    assert client.delete("/api/v1/contacts/cust-1", headers=auth).status_code == 404


def test_comments_of_any_size_and_encoding_are_stored_and_tagged(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    install_flow(rt, flow_yaml(ask="always"))
    client.post("/api/v1/events", json=event(), headers=auth)
    tick(rt)
    client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": PHONE, "text": "3"}, headers=auth)
    comment = ("Très déçu 😡 \ufffd le colis est arrivé cassé. " * 120)[:5000]
    client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": PHONE, "text": comment}, headers=auth)
    [response] = client.get("/api/v1/responses", headers=auth).get_json()["items"]
    assert response["comment"] == comment.strip()
    assert (response["language"], response["sentiment"]["label"]) == ("fr", "unknown")


def test_a_case_is_assigned_to_a_teammate_and_back_to_the_queue(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    case = detractor_case(rt, client, auth)
    given = client.post(f"/api/v1/followups/{case['id']}/assign", json={"assignee": "kim@example.com",
                                                                        "author": "sam@example.com"}, headers=auth)
    assert given.status_code == 200
    assert (given.get_json()["status"], given.get_json()["assignee"]) == ("claimed", "kim@example.com")
    assert given.get_json()["activity"][-1] | {"at": None} == {
        "kind": "assigned", "actor": "sam@example.com", "detail": "kim@example.com", "text": None, "at": None}
    back = client.post(f"/api/v1/followups/{case['id']}/assign", json={"assignee": None}, headers=auth).get_json()
    assert (back["status"], back["assignee"], back["activity"][-1]["kind"]) == ("open", None, "unassigned")
    missing = client.post(f"/api/v1/followups/{case['id']}/assign", json={}, headers=auth)
    assert missing.status_code == 422 and missing.get_json()["error"]["details"][0]["field"] == "assignee"


def test_only_a_resolved_case_is_reopened(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    case = detractor_case(rt, client, auth)
    early = client.post(f"/api/v1/followups/{case['id']}/reopen", headers=auth)
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "not_resolved"
    client.post(f"/api/v1/followups/{case['id']}/resolve", json={"note": "called her"}, headers=auth)
    reopened = client.post(f"/api/v1/followups/{case['id']}/reopen", json={"reason": "not fixed"}, headers=auth)
    assert reopened.status_code == 200
    body = reopened.get_json()
    assert (body["status"], body["resolved_at"], body["overdue"]) == ("open", None, False)
    assert (body["activity"][-1]["kind"], body["activity"][-1]["text"]) == ("reopened", "not fixed")


def test_root_causes_are_a_list_the_admins_keep_and_resolving_picks_one(
    rt: Runtime, client: FlaskClient, auth: dict
) -> None:
    case = detractor_case(rt, client, auth)
    assert client.post("/api/v1/root-causes", json={"name": " Courier damage "}, headers=auth).status_code == 201
    assert client.post("/api/v1/root-causes", json={"name": "Billing / refunds"}, headers=auth).status_code == 201
    taken = client.post("/api/v1/root-causes", json={"name": "courier damage"}, headers=auth)
    assert taken.status_code == 409 and taken.get_json()["error"]["details"][0]["field"] == "name"
    blank = client.post("/api/v1/root-causes", json={"name": "two\nlines"}, headers=auth)
    assert blank.status_code == 422 and blank.get_json()["error"]["details"][0]["field"] == "name"
    listed = client.get("/api/v1/root-causes", headers=auth).get_json()["items"]
    assert listed == [{"name": "Billing / refunds"}, {"name": "Courier damage"}]

    none = client.post(f"/api/v1/followups/{case['id']}/resolve", json={"note": "refunded"}, headers=auth)
    assert none.status_code == 422
    assert none.get_json()["error"]["details"] == [{"field": "root_cause", "message": (
        "a root cause is required to resolve a case; one of: Billing / refunds, Courier damage")}]
    unknown = client.post(f"/api/v1/followups/{case['id']}/resolve", json={"root_cause": "Weather"}, headers=auth)
    assert unknown.status_code == 422 and unknown.get_json()["error"]["details"][0]["field"] == "root_cause"
    done = client.post(f"/api/v1/followups/{case['id']}/resolve",
                       json={"root_cause": "Courier damage", "note": "refunded"}, headers=auth).get_json()
    assert (done["status"], done["root_cause"]) == ("resolved", "Courier damage")
    assert (done["activity"][-1]["detail"], done["activity"][-1]["text"]) == ("Courier damage", "refunded")

    assert client.delete("/api/v1/root-causes/Billing%20%2F%20refunds", headers=auth).status_code == 204
    assert client.delete("/api/v1/root-causes/Billing%20%2F%20refunds", headers=auth).status_code == 404
    assert client.get("/api/v1/root-causes", headers=auth).get_json()["items"] == [{"name": "Courier damage"}]


def test_saved_replies_are_kept_by_name_and_filled_in_for_a_case(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    case = detractor_case(rt, client, auth)
    text = "Hi {{ contact.first_name }}, thank you for the {{ score }}. We are on it."
    created = client.put("/api/v1/saved-replies/Apology", json={"text": text}, headers=auth)
    assert created.status_code == 201 and created.get_json()["text"] == text
    assert client.put("/api/v1/saved-replies/apology", json={"text": text}, headers=auth).status_code == 200
    wrong = client.put("/api/v1/saved-replies/Oops", json={"text": "Hi {{ name }}"}, headers=auth)
    assert wrong.status_code == 422
    assert wrong.get_json()["error"]["details"] == [{"field": "text", "message": (
        "template error: unknown variable name; templates can use contact, score, band, comment, event and flow")}]
    assert [r["name"] for r in client.get("/api/v1/saved-replies", headers=auth).get_json()["items"]] == ["Apology"]
    filled = client.get(f"/api/v1/followups/{case['id']}/saved-replies", headers=auth).get_json()["items"]
    assert filled == [{"name": "Apology", "text": "Hi Ada, thank you for the 1. We are on it.", "problem": None}]
    assert client.delete("/api/v1/saved-replies/APOLOGY", headers=auth).status_code == 204
    assert client.get("/api/v1/saved-replies/Apology", headers=auth).status_code == 404


def test_the_inbox_filters_cases_and_names_a_wrong_parameter(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    case = detractor_case(rt, client, auth)

    def ids(**params: str) -> list[int]:
        response = client.get("/api/v1/followups", query_string=params, headers=auth)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids(status="unresolved", queue="recovery", priority="high", unassigned="true", flow="nps-test",
               channel="sms", band="detractor", created_since="2000-01-01T00:00:00Z") == [case["id"]]
    assert ids(status="resolved") == ids(assignee="kim") == ids(band="promoter") == ids(theme="price") == []
    client.post(f"/api/v1/followups/{case['id']}/assign", json={"assignee": "kim"}, headers=auth)
    assert ids(assignee="kim") == [case["id"]] and ids(unassigned="true") == []
    [item] = client.get("/api/v1/followups", headers=auth).get_json()["items"]
    assert (item["customer"], item["answer"]["score"], item["answer"]["band"]) == ("Ada Lovelace", 1, "detractor")
    for params, field in [({"priority": "soon"}, "priority"), ({"status": "done"}, "status"),
                          ({"assignee": "kim", "unassigned": "true"}, "unassigned"), ({"flow": "nope"}, "flow"),
                          ({"created_until": "yesterday"}, "created_until"), ({"cursor": "abc"}, "cursor"),
                          ({"sentiment": "angry"}, "sentiment"), ({"page": "2"}, "page")]:
        wrong = client.get("/api/v1/followups", query_string=params, headers=auth)
        assert wrong.status_code == 422, params
        assert [d["field"] for d in wrong.get_json()["error"]["details"]] == [field]


def test_queues_count_open_due_soon_and_overdue_cases(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    case = detractor_case(rt, client, auth)  # due in 4 hours
    queue = client.get("/api/v1/queues/recovery", headers=auth).get_json()
    assert (queue["open"], queue["due_soon"], queue["overdue"]) == (1, 0, 0)
    wide = client.get("/api/v1/queues", query_string={"due_soon": "5h"}, headers=auth).get_json()["items"]
    assert [(q["key"], q["open"], q["due_soon"]) for q in wide] == [("recovery", 1, 1)]
    with rt.session() as session:
        session.get(FollowUp, case["id"]).due_at = utcnow() - timedelta(minutes=5)  # type: ignore[union-attr]
    late = client.get("/api/v1/queues/recovery", headers=auth).get_json()
    assert (late["open"], late["due_soon"], late["overdue"]) == (1, 0, 1)
    for value in ("soon", "0m", "8d"):
        wrong = client.get("/api/v1/queues", query_string={"due_soon": value}, headers=auth)
        assert wrong.status_code == 422 and wrong.get_json()["error"]["details"][0]["field"] == "due_soon"


def test_a_case_thread_and_the_customers_answers(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    case = detractor_case(rt, client, auth)
    client.post(f"/api/v1/followups/{case['id']}/reply", json={"text": "Sorry Ada!", "author": "kim"}, headers=auth)
    client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": PHONE, "text": "It came broken"},
                headers=auth)
    thread = client.get(f"/api/v1/followups/{case['id']}/thread", headers=auth).get_json()["items"]
    said = [(e["message"]["direction"], e["message"]["text"], (e["activity"] or {}).get("actor"))
            for e in thread if e["message"]]
    assert said[0][0] == "out" and said[0][1].startswith("Hi Ada!")  # the survey
    assert said[1:] == [("in", "1", None), ("out", "Thank you!", None), ("out", "Sorry Ada!", "kim"),
                        ("in", "It came broken", None)]
    assert [e["activity"]["kind"] for e in thread if not e["message"]] == ["opened"]
    client.post("/api/v1/events", json=event("evt-2"), headers=auth)
    tick(rt)
    client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": PHONE, "text": "9"}, headers=auth)
    answers = client.get(f"/api/v1/followups/{case['id']}/customer-answers", headers=auth).get_json()
    assert [(a["response"]["score"], a["case_id"]) for a in answers["items"]] == [(9, None), (1, case["id"])]
    assert answers["next_cursor"] is None
    assert client.get("/api/v1/followups/4242/thread", headers=auth).status_code == 404
