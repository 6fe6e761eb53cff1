"""Tallied segments on /app/insights: an admin keeps a tally of a contact attribute or event property; the page
then reads it from the tallies and shows the same figures it counted from the answers."""

from __future__ import annotations

import re
from datetime import timedelta

from click.testing import CliRunner, Result
from flask.testing import FlaskClient

from bot.cli import main
from bot.dashboard import Filters, segments, tallied_segments
from bot.runtime import Runtime
from storage.apikeys import READ, create_api_key
from storage.models import Role
from tests.bot.test_web_insights import MONDAY, RANGE, agent, answer, page, seeded, text  # noqa: F401
from tests.web_client import add_user, sign_in


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found[1]


def _figures(rt: Runtime, segment: str) -> list[tuple]:
    f = Filters(MONDAY, MONDAY + timedelta(days=14), segment=segment)
    return [(s.value, s.current.n, s.current.value, s.previous.n, s.change.delta) for s in segments(rt, f)]


def test_an_admin_tallies_a_segment_and_the_page_reads_the_same_figures(
        client: FlaskClient, rt: Runtime, seeded: None) -> None:  # noqa: F811
    sign_in(client, "admin@example.com", add_user(rt, "admin@example.com", Role.ADMIN))
    counted = {segment: _figures(rt, segment) for segment in ("contact.plan", "event.store")}
    html = page(client, **{**RANGE, "segment": "contact.plan"})
    assert "Counted from the answers of the range" in text(html) and "Keep a tally of contact.plan" in html
    for segment in ("contact.plan", "event.store"):
        response = client.post("/app/insights/segments", data={"csrf_token": _csrf(html), "segment": segment,
                                                                "action": "tally"})
        assert response.status_code == 303
    assert tallied_segments(rt) == ["contact.plan", "event.store"]
    shown = text(page(client, **{**RANGE, "segment": "contact.plan"}))
    assert "contact.plan is tallied" in shown and "Read from the tallies kept for contact.plan" in shown
    assert "pro -40 95% interval" in shown
    assert {segment: _figures(rt, segment) for segment in counted} == counted

    answer(rt, MONDAY + timedelta(days=9), [0] * 4, plan="pro", store="south")  # counted as it comes
    rows = {value: n for value, n, *_ in _figures(rt, "contact.plan")}
    assert rows["pro"] == 24 and rows["team"] == 26

    html = page(client, **{**RANGE, "segment": "event.store"})
    client.post("/app/insights/segments", data={"csrf_token": _csrf(html), "segment": "event.store",
                                                "action": "stop"})
    assert tallied_segments(rt) == ["contact.plan"]
    assert "Counted from the answers of the range" in text(page(client, **{**RANGE, "segment": "event.store"}))


def test_flow_and_channel_segments_read_the_response_tallies(agent: FlaskClient, rt: Runtime,  # noqa: F811
                                                             seeded: None) -> None:  # noqa: F811
    assert [(value, n, previous) for value, n, _, previous, _ in _figures(rt, "flow")] == [("a", 41, 0), ("b", 5, 0)]
    assert [(value, n) for value, n, *_ in _figures(rt, "channel")] == [("sms", 41), ("email", 5)]
    shown = text(page(agent, **{**RANGE, "segment": "flow"}))
    assert "NPS by flow" in shown and "Counted from the answers" not in shown and "Keep a tally" not in shown


def test_agents_read_tallied_segments_but_cannot_pick_them(agent: FlaskClient, rt: Runtime,  # noqa: F811
                                                           seeded: None) -> None:  # noqa: F811
    html = page(agent, **{**RANGE, "segment": "contact.plan"})
    assert "an admin can keep a tally of it" in text(html) and "Keep a tally" not in html
    response = agent.post("/app/insights/segments", data={"csrf_token": _csrf(html), "segment": "contact.plan"})
    assert response.status_code == 403 and tallied_segments(rt) == []


def test_flow_cannot_be_picked_and_a_bad_key_is_named(client: FlaskClient, rt: Runtime) -> None:
    sign_in(client, "admin@example.com", add_user(rt, "admin@example.com", Role.ADMIN))
    token = _csrf(page(client))
    for segment in ("flow", "contact.no way"):
        response = client.post("/app/insights/segments", data={"csrf_token": token, "segment": segment})
        assert response.status_code == 400 and "Segment" in response.get_data(as_text=True)
    assert tallied_segments(rt) == []


def test_the_api_picks_lists_and_drops_tallied_segments_and_audits_them(
        client: FlaskClient, rt: Runtime, auth: dict, seeded: None) -> None:  # noqa: F811
    counted = _figures(rt, "contact.plan")
    assert client.get("/api/v1/insights/segments", headers=auth).get_json() == {"segments": []}
    first = client.put("/api/v1/insights/segments/contact.plan", headers=auth)
    again = client.put("/api/v1/insights/segments/contact.plan", headers=auth)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == {"segments": ["contact.plan"]} and tallied_segments(rt) == ["contact.plan"]
    assert _figures(rt, "contact.plan") == counted  # now read from the tally the pick filled

    gone = client.delete("/api/v1/insights/segments/contact.plan", headers=auth)
    missing = client.delete("/api/v1/insights/segments/contact.plan", headers=auth)
    assert (gone.status_code, missing.status_code) == (204, 404)
    assert "contact.plan" in missing.get_json()["error"]["message"] and tallied_segments(rt) == []
    audit = client.get("/api/v1/audit", headers=auth).get_json()["items"]
    assert [(e["object"], e["action"], e["actor"].startswith("api key")) for e in audit[:2]] == [
        ("segment contact.plan", "untallied", True), ("segment contact.plan", "tallied", True)]


def test_the_api_names_a_bad_segment_and_needs_an_admin_key_to_pick(client: FlaskClient, rt: Runtime,
                                                                    auth: dict) -> None:
    for segment in ("flow", "contact.no way", "plan"):
        response = client.put(f"/api/v1/insights/segments/{segment}", headers=auth)
        assert response.status_code == 422
        assert response.get_json()["error"]["details"][0]["field"] == "segment"
    with rt.session() as session:
        reader = {"Authorization": f"Bearer {create_api_key(session, 'reader', [READ])}"}
    assert client.get("/api/v1/insights/segments", headers=reader).status_code == 200
    assert client.put("/api/v1/insights/segments/contact.plan", headers=reader).status_code == 403
    assert tallied_segments(rt) == []


def test_the_cli_picks_lists_and_drops_tallied_segments(rt: Runtime, database_url: str,
                                                       seeded: None) -> None:  # noqa: F811
    counted = _figures(rt, "event.store")
    env = {"TOUCHPOINT_DATABASE_URL": database_url, "TOUCHPOINT_LOG_LEVEL": "WARNING"}

    def touchpoint(*args: str) -> Result:
        return CliRunner().invoke(main, ["segments", *args], env=env, catch_exceptions=False)

    assert touchpoint("pick", "event.store").stdout == "event.store: tallied\n"
    assert touchpoint("pick", "event.store").stdout == "event.store: already tallied\n"
    assert touchpoint("list").stdout == "event.store\n"
    assert _figures(rt, "event.store") == counted
    bad = touchpoint("pick", "channel")
    assert bad.exit_code == 1 and "SEGMENT 'channel'" in bad.stderr
    assert touchpoint("drop", "event.store").stdout == "event.store: no longer tallied\n"
    missing = touchpoint("drop", "event.store")
    assert missing.exit_code == 1 and "event.store is not tallied" in missing.stderr
    assert touchpoint("list").stdout == ""
