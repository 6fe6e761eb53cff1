"""Tallied segments on /app/insights: an admin keeps a tally of a contact attribute or event property; the page
then reads it from the tallies and shows the same figures it counted from the answers."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient

from bot.dashboard import Filters, segments, tallied_segments
from bot.runtime import Runtime
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
