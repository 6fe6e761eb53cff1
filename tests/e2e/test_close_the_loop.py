"""Against the running server: a detractor's answer becomes a case that an agent works to the end."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.e2e.processes import Server, cli
from tests.helpers import event, flow_yaml

ROUTING = """\
routing:
  - when: {band: detractor}
    queue: recovery
    priority: high
    sla: 4h
  - when: {sentiment: negative}
    queue: recovery
"""


def answer(server: Server, phone: str, text: str) -> dict:
    response = server.api("POST", "/sandbox/inbound", json={"channel": "sms", "from": phone, "text": text})
    assert response.status_code == 200, response.text
    return response.json()


def survey(server: Server, key: str, contact: dict) -> int:
    accepted = server.api("POST", "/events", json=event(key, contact=contact))
    [planned] = accepted.json()["deliveries"]
    server.wait_for(
        lambda: server.api("GET", f"/deliveries/{planned['id']}").json()["status"] == "sent", what="the survey"
    )
    return planned["id"]


def test_detractor_case_is_claimed_noted_replied_and_resolved(server: Server) -> None:
    flow_file = server.cwd / "nps.yaml"
    flow_file.write_text(flow_yaml("loop-nps", extra=ROUTING), encoding="utf-8")
    cli(server.env, "flows", "import", str(flow_file), cwd=server.cwd)

    ada = {"external_id": "ada", "name": "Ada Lovelace", "phone": "+447911123456"}
    delivery_id = survey(server, "order-1", ada)
    answered_at = datetime.now().astimezone()
    answer(server, ada["phone"], "2")
    answer(server, ada["phone"], "Terrible. The parcel was late and nobody called back")

    [case] = server.api("GET", "/followups", params={"queue": "recovery", "status": "open"}).json()["items"]
    assert (case["queue"], case["priority"], case["delivery_id"]) == ("recovery", "high", delivery_id)
    due = datetime.fromisoformat(case["due_at"].replace("Z", "+00:00"))
    assert timedelta(hours=3, minutes=55) < due - answered_at < timedelta(hours=4, minutes=5)
    shown = server.api("GET", f"/followups/{case['id']}").json()
    assert shown["response"]["sentiment"]["label"] == "negative"
    assert shown["response"]["band"] == "detractor"

    claimed = server.api("POST", f"/followups/{case['id']}/claim", json={"assignee": "sam@support.example"})
    assert claimed.json()["status"] == "claimed" and claimed.json()["assignee"] == "sam@support.example"
    server.api("POST", f"/followups/{case['id']}/notes", json={"text": "Courier confirmed a missed slot"})
    replied = server.api("POST", f"/followups/{case['id']}/reply", json={"text": "So sorry, Ada. We've refunded you."})
    assert replied.status_code == 200, replied.text
    inbox = server.api("GET", "/sandbox/messages", params={"to": ada["phone"]}).json()["items"]
    assert inbox[-1]["text"] == "So sorry, Ada. We've refunded you."

    assert answer(server, ada["phone"], "Thank you, that's kind")["intent"] == "case_reply"
    resolved = server.api("POST", f"/followups/{case['id']}/resolve", json={"note": "Refunded"})
    assert resolved.json()["status"] == "resolved"
    trail = [(a["kind"], a["text"]) for a in resolved.json()["activity"]]
    assert [kind for kind, _ in trail] == ["opened", "claimed", "note", "reply", "customer_reply", "resolved"]
    assert ("customer_reply", "Thank you, that's kind") in trail
    again = server.api("POST", f"/followups/{case['id']}/resolve")
    assert again.status_code == 409 and again.json()["error"]["code"] == "resolved"


def test_promoters_open_nothing_and_an_angry_promoter_is_flagged(server: Server) -> None:
    flow_file = server.cwd / "nps.yaml"
    flow_file.write_text(flow_yaml("loop-nps", ask="never", extra=ROUTING.split("  - when: {sentiment")[0]), "utf-8")
    cli(server.env, "flows", "import", str(flow_file), cwd=server.cwd)

    happy = {"external_id": "happy", "phone": "+447911000001"}
    angry = {"external_id": "angry", "phone": "+447911000002"}
    survey(server, "h-1", happy)
    survey(server, "a-1", angry)
    answer(server, happy["phone"], "10 - love it, great service")
    answer(server, angry["phone"], "9 - the worst experience ever, rude staff, absolutely furious")

    assert server.api("GET", "/followups").json()["items"] == []
    items = {r["contact"]["external_id"]: r for r in server.api("GET", "/responses").json()["items"]}
    assert items["happy"]["mismatch"] is False
    assert items["angry"]["mismatch"] is True and items["angry"]["sentiment"]["label"] == "negative"

    metrics = server.api("GET", "/metrics", params={"flow": "loop-nps"}).json()
    assert (metrics["sent"], metrics["responses"], metrics["nps"]) == (2, 2, 100.0)
    assert metrics["response_rate"] == 1.0
