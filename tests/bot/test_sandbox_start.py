"""/sandbox's "Start a survey": a plain form with event properties, prefilled so the demo flows match, that
says why no survey was planned (the condition that failed, or the skip reason) in ingestion's own words."""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient

from bot.demo import DEMO_EVENTS, load_demo
from bot.pages.sandbox_trigger import format_properties, parse_properties
from bot.runtime import Runtime


def offered(client: FlaskClient) -> dict[str, str]:
    """Each event the form offers, with the properties it prefills for it."""
    page = client.get("/sandbox").get_data(as_text=True)
    options = re.findall(r'<option value="([^"]+)" data-properties="([^"]*)"', page)
    return {event: html.unescape(properties) for event, properties in options}


def start(client: FlaskClient, external_id: str, event_type: str, properties: str, **headers: str) -> str:
    form = {"type": event_type, "external_id": external_id, "name": "Sam Sandbox", "phone": "+447911123456",
            "email": "sam@example.com", "slack_user_id": "U0SANDBOX", "properties": properties}
    return client.post("/sandbox/trigger", data=form, headers=headers).get_data(as_text=True)


def test_the_demo_events_started_from_the_form_as_prefilled_each_plan_a_survey(
    rt: Runtime, client: FlaskClient
) -> None:
    load_demo(rt)
    prefilled = offered(client)
    assert prefilled["order.delivered"] == "country=GB\norder_id=A-1001"
    assert prefilled["feature.used"] == "feature=exports\nfirst_use=true"
    assert set(prefilled) == {event_type for event_type, _, _ in DEMO_EVENTS}

    for number, (event_type, properties) in enumerate(prefilled.items()):
        answer = start(client, f"sandbox:sam-{number}", event_type, properties)  # a browser without scripts
        assert re.search(r"<li>[a-z-]+: survey by \w+, due \d\d:\d\d:\d\d UTC</li>", answer), (event_type, answer)


def test_a_mismatch_names_the_condition_that_failed(rt: Runtime, client: FlaskClient) -> None:
    load_demo(rt)
    answer = start(client, "sandbox:sam", "order.delivered", "country=US")
    assert "<li>post-delivery-nps: no match, country is &#39;US&#39;, needs one of GB, IE</li>" in answer
    assert 'data-properties="country=GB' in answer and ">country=US</textarea>" in answer  # the form as sent

    by_script = client.post("/sandbox/trigger", headers={"Accept": "application/json"}, data={
        "type": "feature.used", "external_id": "sandbox:sam", "slack_user_id": "U0SAM", "properties": ""})
    assert by_script.get_json()["outcome"] == ["feature-thumbs: no match, first_use is missing, needs true"]
    assert by_script.get_json()["unmatched"] == [
        {"flow": "feature-thumbs", "reason": "first_use is missing, needs true"}]

    nobody = client.post("/sandbox/trigger", json={"type": "order.returned", "contact": {"external_id": "sandbox:sam"}})
    assert nobody.get_json()["outcome"] == ["No enabled flow listens to order.returned."]


def test_skip_reasons_are_shown_as_ingestion_reports_them(rt: Runtime, client: FlaskClient) -> None:
    load_demo(rt)
    start(client, "sandbox:sam", "ticket.solved", "")
    again = start(client, "sandbox:sam", "ticket.solved", "")
    assert "<li>support-csat: skipped (throttled)</li>" in again
    unreachable = client.post("/sandbox/trigger", json={
        "type": "order.delivered", "contact": {"external_id": "sandbox:nobody"}, "properties": {"country": "GB"}})
    assert unreachable.get_json()["outcome"] == ["post-delivery-nps: skipped (unreachable)"]


def test_bad_properties_are_refused_with_the_line_at_fault(rt: Runtime, client: FlaskClient) -> None:
    load_demo(rt)
    answer = client.post("/sandbox/trigger", data={
        "type": "order.delivered", "external_id": "sandbox:sam", "properties": "country=GB\njust words"})
    assert answer.status_code == 422
    assert "<li>properties: line 2: expected key=value, got &#39;just words&#39;</li>" in answer.get_data(as_text=True)
    for body in ('{"country": NaN}', "[1, 2]", '{"country": '):
        refused = client.post("/sandbox/trigger", headers={"Accept": "application/json"}, data={
            "type": "order.delivered", "external_id": "sandbox:sam", "properties": body})
        assert refused.status_code == 422 and refused.get_json()["error"]["details"][0]["field"] == "properties"


def test_properties_read_as_a_person_means_them() -> None:
    assert parse_properties("first_use=true\ncount=3\npostcode=0123\nnote=a=b\n\n") == {
        "first_use": True, "count": 3, "postcode": "0123", "note": "a=b"}
    assert parse_properties('{"customer": {"plan": "team"}}') == {"customer": {"plan": "team"}}
    properties = {"country": "GB", "first_use": True, "code": "123", "tags": ["a", "b"]}
    assert parse_properties(format_properties(properties)) == properties
