"""The real server process, driven over HTTP only: event -> message -> reply -> comment -> response."""

from __future__ import annotations

from tests.e2e.processes import Server, cli
from tests.helpers import event, flow_yaml


def test_a_customer_answers_a_survey_end_to_end(server: Server) -> None:
    flow_file = server.cwd / "nps.yaml"
    flow_file.write_text(flow_yaml("e2e-nps", ask="detractors"), encoding="utf-8")
    assert "ok  e2e-nps" in cli(server.env, "flows", "validate", str(flow_file), cwd=server.cwd)
    assert "e2e-nps: version 1" in cli(server.env, "flows", "import", str(flow_file), cwd=server.cwd)

    accepted = server.api("POST", "/events", json=event("order-77"))
    assert accepted.status_code == 202, accepted.text
    [planned] = accepted.json()["deliveries"]

    def messages() -> list[dict]:
        return server.api("GET", "/sandbox/messages", params={"to": "+447911123456"}).json()["items"]

    [question] = server.wait_for(messages, what="the survey to be sent")
    assert question["text"].startswith("Hi Ada! How likely")

    first = server.api("POST", "/sandbox/inbound", json={"channel": "sms", "from": "+447911123456", "text": "4"})
    assert first.json()["replies"][0]["text"] == "Sorry about that. What went wrong?"
    server.api(
        "POST",
        "/sandbox/inbound",
        json={"channel": "sms", "from": "+447911123456", "text": "Driver could not find the house"},
    )

    texts = [m["text"] for m in messages()]
    assert texts[-2:] == ["Sorry about that. What went wrong?", "Thank you!"]
    shown = server.api("GET", f"/deliveries/{planned['id']}").json()
    assert shown["status"] == "completed"
    [response] = server.api("GET", "/responses", params={"flow": "e2e-nps"}).json()["items"]
    assert (response["score"], response["band"], response["comment"]) == (
        4,
        "detractor",
        "Driver could not find the house",
    )

    again = server.api("POST", "/events", json=event("order-77"))
    assert again.status_code == 200 and again.json()["duplicate"] is True


def test_the_sandbox_page_and_health_are_served(server: Server) -> None:
    import requests

    health = requests.get(server.url + "/healthz", timeout=5).json()
    assert health["status"] == "ok" and health["channels"]["sms"] == "sandbox"
    page = requests.get(server.url + "/sandbox", timeout=5)
    assert page.status_code == 200 and "Touchpoint sandbox" in page.text


def test_an_email_survey_in_the_sandbox_is_answered_by_its_links(server: Server) -> None:
    import requests

    flow_file = server.cwd / "mail.yaml"
    flow_file.write_text(flow_yaml("sandbox-mail", channels="[email]", ask="never"), encoding="utf-8")
    cli(server.env, "flows", "import", str(flow_file), cwd=server.cwd)
    contact = {"external_id": "sandbox:eve", "name": "Eve", "email": "eve@example.com"}
    started = requests.post(server.url + "/sandbox/trigger", json={"type": "order.delivered", "contact": contact},
                            timeout=5)
    [planned] = started.json()["deliveries"]
    query = {"channel": "email", "address": "eve@example.com"}

    def question() -> dict | None:
        items = requests.get(server.url + "/sandbox/messages", params=query, timeout=5).json()["items"]
        return next((m for m in items if m["kind"] == "question"), None)

    shown = server.wait_for(question, what="the email survey in the sandbox")
    assert [link["label"] for link in shown["links"]] == [str(score) for score in range(11)]
    eight = server.url + shown["links"][8]["url"]
    assert requests.get(eight, timeout=5).status_code == 200
    requests.post(eight.rsplit("/", 1)[0] + "/answer", data={"score": "8"}, timeout=5)
    assert server.api("GET", f"/deliveries/{planned['id']}").json()["response"]["score"] == 8
