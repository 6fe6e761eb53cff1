"""Follow-up cases through the API: routing, the agent's actions, and the errors that protect them."""

from __future__ import annotations

from flask.testing import FlaskClient

from bot.runtime import Runtime
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
    assert response["sentiment"]["label"] == "negative"
