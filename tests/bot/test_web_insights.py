"""/app/insights: the dashboard shows the services' figures for what is stored, on both databases."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.dashboard import Filters, TrendPoint, segments, themes
from bot.insights import funnel, funnel_total, funnel_views, score_series, score_summary
from bot.runtime import Runtime
from storage.models import Contact, Delivery, Event, Flow, Response, Role
from storage.tallies import note_skip
from tests.web_client import add_user, sign_in, unnamed_controls

PAGE = "/app/insights"
MONDAY = date(2026, 3, 2)
RANGE = {"from": "2026-03-02", "to": "2026-03-15", "bucket": "week", "metric": "nps"}
SCRIPT = "<script>alert(1)</script>"


def band(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def answer(rt: Runtime, day: date, scores: list[int], *, flow: str = "a", channel: str = "sms",
           plan: str = "team", store: str = "north", comment: str | None = None, themes: list[str] | None = None,
           mismatch: bool = False) -> None:
    """NPS answers stored through the ORM (so the tallies move), at noon UTC that day, one contact each."""
    at = datetime.combine(day, time(12), tzinfo=UTC)
    with rt.session() as session:
        flow_row = session.exec(select(Flow).where(Flow.key == flow)).first() or Flow(key=flow, definition={})
        session.add(flow_row)
        session.flush()
        for score in scores:
            n = session.exec(select(Contact.id)).all()
            key = f"c-{len(n)}"
            contact = Contact(external_id=key, attributes={"plan": plan})
            session.add(contact)
            session.flush()
            event = Event(type="order.delivered", contact_id=contact.id, idempotency_key=key,
                          properties={"store": store})
            session.add(event)
            session.flush()
            delivery = Delivery(event_id=event.id, flow_id=flow_row.id, flow_key=flow, contact_id=contact.id,
                                channel=channel, due_at=at, token=key, sent_at=at)
            session.add(delivery)
            session.flush()
            session.add(Response(delivery_id=delivery.id, flow_key=flow, channel=channel, contact_id=contact.id,
                                 question="nps", score=score, band=band(score), answered_at=at, comment=comment,
                                 sentiment="negative" if comment else None, themes=themes or [], mismatch=mismatch))


@pytest.fixture
def seeded(rt: Runtime) -> None:
    # Week 1: 15 promoters, 5 passives, 5 detractors (NPS 40); week 2: 2, 8, 10 (NPS -40), on plan "pro".
    answer(rt, MONDAY, [10] * 10 + [7] * 5)
    answer(rt, MONDAY + timedelta(days=6), [3] * 5, comment="late again", themes=["delivery"])
    answer(rt, MONDAY + timedelta(days=2), [10] * 5, flow="b", channel="email")
    answer(rt, MONDAY + timedelta(days=7), [9] * 2 + [8] * 8, plan="pro", store="south")
    answer(rt, MONDAY + timedelta(days=8), [0] * 9, plan="pro", store="south", comment="late", themes=["delivery"])
    answer(rt, MONDAY + timedelta(days=8), [0], plan="pro", store="south", comment=SCRIPT, themes=["delivery"])
    answer(rt, MONDAY + timedelta(days=9), [10], comment="Terrible, never again", mismatch=True)


@pytest.fixture
def agent(client: FlaskClient, rt: Runtime) -> FlaskClient:
    sign_in(client, "agent@example.com", add_user(rt, "agent@example.com", Role.AGENT))
    return client


def page(client: FlaskClient, view: str = "", **params: str) -> str:
    response = client.get(PAGE + (f"/{view}" if view else ""), query_string=params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_page_shows_the_services_figures(agent: FlaskClient, rt: Runtime, seeded: None) -> None:
    html = page(agent, **RANGE)
    [series] = score_series(rt, "nps", "week", since=MONDAY, until=MONDAY + timedelta(days=14)).series
    week1, week2 = series.points
    assert week1.estimate.value == 40 and week2.estimate.n == 21
    for p in series.points:
        e = p.estimate
        assert (f'<th scope="row">{p.start}</th><td>{e.value:.0f}</td><td>{e.low:.0f} to {e.high:.0f}</td>'
                f"<td>{e.n}</td>") in html
    summary = score_summary(rt, "nps", MONDAY + timedelta(days=7), MONDAY + timedelta(days=14))
    shown = text(html)
    c = summary.change
    assert c.significant and f"{summary.current.value:.0f} 95% interval {summary.current.low:.0f} to " \
                              f"{summary.current.high:.0f} {summary.current.n} answers" in shown
    assert f"{c.delta:+.0f}, significant (95% interval {c.low:+.0f} to {c.high:+.0f})" in shown
    assert 'role="img"' in html and "<title id=\"chart-title\">NPS per week, with its 95% interval</title>" in html
    assert html.count("<polygon class=\"chart-band\"") == 1  # two points: a band between them
    assert html.count('<circle class="chart-point"') == 2
    assert "style=" not in html
    assert unnamed_controls(html) == []


def test_too_few_answers_show_as_such(agent: FlaskClient, seeded: None) -> None:
    html = page(agent, **{**RANGE, "channel": "email"})
    assert '<th scope="row">2026-03-02</th><td colspan="2" class="too-few">Too few answers</td><td>5</td>' in html
    shown = text(html)
    assert "NPS Too few answers 0 of the 10 needed" in shown and "No comparison: too few answers" in shown
    csat = text(page(agent, **{**RANGE, "metric": "csat"}))
    assert "CSAT Too few answers 0 of the 10 needed" in csat


def test_filters_narrow_the_figures(agent: FlaskClient, rt: Runtime, seeded: None) -> None:
    html = page(agent, **{**RANGE, "flow": "b"})
    assert '<th scope="row">2026-03-02</th><td colspan="2" class="too-few">Too few answers</td><td>5</td>' in html
    daily = page(agent, **{**RANGE, "bucket": "day"})
    assert '<th scope="row">2026-03-02</th><td>67</td>' in daily  # 10 promoters, 5 passives of 15 that Monday


def test_segments_themes_and_mismatches(agent: FlaskClient, rt: Runtime, seeded: None) -> None:
    f = Filters(MONDAY, MONDAY + timedelta(days=14), segment="contact.plan")
    rows = {s.value: s for s in segments(rt, f)}
    assert rows["team"].current.n == 26 and rows["pro"].current.n == 20 and rows["pro"].current.value == -40
    shown = text(page(agent, **{**RANGE, "segment": "contact.plan"}))
    assert "pro -40 95% interval" in shown and "team " in shown
    stores = text(page(agent, **{**RANGE, "segment": "event.store"}))
    assert "south -40 95% interval" in stores
    [delivery] = themes(rt, f)
    assert (delivery.theme, delivery.volume) == ("delivery", 15)
    html = page(agent, "comments", **RANGE)
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f"{delivery.with_theme.value:.2f}" in html and f"{delivery.impact.delta:+.2f}, significant" in html
    assert "Terrible, never again" in text(html) and "angry promoter" in html


def test_bad_filters_are_named_on_the_page(agent: FlaskClient, seeded: None) -> None:
    for params, message in (({"metric": "xyz"}, "Metric must be NPS, CSAT or CES"),
                            ({"from": "yesterday"}, "From must be a date like 2026-03-31"),
                            ({"from": "2026-03-20", "to": "2026-03-01"}, "To must be on or after the start date"),
                            ({"segment": "contact.no way"}, "Segment must be flow, channel"),
                            ({"channel": "pigeon"}, "Channel must be one of"),
                            ({"queue": "nope"}, "Queue must be one of the queues listed")):
        html = page(agent, **params)
        assert "There is a problem" in html and message in html, params


def test_signed_out_visitors_go_to_sign_in(client: FlaskClient) -> None:
    response = client.get(PAGE)
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    assert client.get(PAGE + "/responses.csv").status_code == 303


def test_agents_see_it_in_the_navigation(agent: FlaskClient) -> None:
    html = page(agent)
    assert '<a href="/app/insights" aria-current="page">Insights</a>' in html
    assert '<a href="/app/insights" aria-current="page">Scores</a>' in html
    comments = page(agent, "comments", flow="a")
    assert "No comment of the range has a theme." in comments
    assert '<a href="/app/insights/comments?flow=a" aria-current="page">Comments</a>' in comments
    assert '<a href="/app/insights/loop?flow=a">Closing the loop</a>' in comments
    assert "No case was opened in the range." in page(agent, "loop")
    missing = agent.get(PAGE + "/nothing")
    assert missing.status_code == 404 and "No such page" in missing.get_data(as_text=True)


def test_the_export_links_use_the_same_filters(agent: FlaskClient, seeded: None) -> None:
    html = page(agent, **{**RANGE, "flow": "b"})
    link = re.search(r'href="(/app/insights/responses\.csv\?[^"]+)"', html)
    assert link
    body = agent.get(link[1].replace("&amp;", "&"))
    assert body.status_code == 200 and body.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(body.get_data(as_text=True))))
    assert len(rows) == 5 and {r["flow"] for r in rows} == {"b"}


def test_the_funnel_total_is_the_services_own(agent: FlaskClient, rt: Runtime, seeded: None) -> None:
    since, until = MONDAY, MONDAY + timedelta(days=14)
    with rt.session() as session:
        note_skip(session, MONDAY, "a", "throttled")
        note_skip(session, MONDAY, "b", "opted_out")
    assert funnel_views(rt, channel="sms", since=since, until=until).total == funnel(
        rt, channel="sms", since=since, until=until)[0]
    whole = funnel(rt, since=since, until=until)[0]
    assert funnel_total(funnel(rt, since=since, until=until, by="channel")) == whole
    views = funnel_views(rt, since=since, until=until)
    assert views.total == whole
    assert views.by_channel == funnel(rt, since=since, until=until, by="channel")
    assert views.by_flow == funnel(rt, since=since, until=until, by="flow")
    html = page(agent, "funnel", **RANGE)
    for step in whole.steps:
        assert f'<th scope="row">{step.name}</th><td>{step.count}</td>' in html


def test_each_theme_shows_its_trend_per_bucket(agent: FlaskClient, rt: Runtime, seeded: None) -> None:
    [delivery] = themes(rt, Filters(MONDAY, MONDAY + timedelta(days=14)))
    assert delivery.trend == [TrendPoint(MONDAY, 5, False), TrendPoint(MONDAY + timedelta(days=7), 10, False)]
    html = page(agent, "comments", **RANGE)
    assert '<th scope="col">Per week</th>' in html
    assert "<title>delivery: answers per week</title><desc>Answers per bucket: 02 Mar 5, 09 Mar 10</desc>" in html
    assert html.count('<svg class="spark"') == 1 and '<polyline class="spark-line"' in html
    daily = page(agent, "comments", **{**RANGE, "bucket": "day"})
    assert "<title>delivery: answers per day</title>" in daily
    assert "08 Mar 5, 09 Mar 0, 10 Mar 10, 11 Mar 0" in daily
    assert "style=" not in daily
    # A range that cuts its weeks: each bucket starts inside the range and says it is only part of a week.
    cut = page(agent, "comments", **{**RANGE, "from": "2026-03-04", "to": "2026-03-12"})
    assert "<desc>Answers per bucket: 04 Mar 5 (part), 09 Mar 10 (part)</desc>" in cut
    assert cut.count('<circle class="spark-part-point"') == 2 and '<polyline class="spark-line"' not in cut


def test_the_api_gives_the_themes_as_the_page_does(client: FlaskClient, rt: Runtime, auth: dict,
                                                  seeded: None) -> None:
    [shown] = themes(rt, Filters(MONDAY, MONDAY + timedelta(days=14)))
    response = client.get("/api/v1/insights/themes", headers=auth,
                          query_string={"since": "2026-03-02", "until": "2026-03-16", "bucket": "week"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["metric"], body["bucket"], body["since"], body["until"]) == ("nps", "week", "2026-03-02",
                                                                              "2026-03-16")
    [delivery] = body["themes"]
    assert (delivery["theme"], delivery["answers"], delivery["previous_answers"]) == ("delivery", 15, 0)
    assert [(p["start"], p["answers"], p["partial"]) for p in delivery["trend"]] == [
        ("2026-03-02", 5, False), ("2026-03-09", 10, False)]
    # Five 3s and ten 0s score 1.0 on average; the rest as the page has it, rounded to 2 places.
    assert delivery["with_theme"]["value"] == 1.0 == round(shown.with_theme.value, 2)
    assert delivery["impact"]["delta"] == round(shown.impact.delta, 2) < 0
    assert delivery["impact"]["significant"] is shown.impact.significant is True
    assert {e["comment"] for e in delivery["examples"]} <= {"late again", "late", SCRIPT}
    assert len(delivery["examples"]) == 2


def test_the_themes_api_names_a_bad_parameter(client: FlaskClient, auth: dict) -> None:
    for params, field in (({"metric": "stars"}, "metric"), ({"since": "2026-03-10", "until": "2026-03-01"}, "until"),
                          ({"since": "2020-01-01", "until": "2026-01-01", "bucket": "month"}, "since"),
                          ({"flow": "nope"}, "flow")):
        response = client.get("/api/v1/insights/themes", headers=auth, query_string=params)
        assert response.status_code == 422, params
        assert response.get_json()["error"]["details"][0]["field"] == field


def test_an_example_without_a_case_links_admins_to_its_answer(client: FlaskClient, rt: Runtime, seeded: None) -> None:
    with rt.session() as session:
        answer_row = session.exec(select(Response).where(Response.mismatch.is_(True))).one()
        response_id, contact_id = answer_row.id, answer_row.contact_id
    sign_in(client, "agent@example.com", add_user(rt, "agent@example.com", Role.AGENT))
    assert f"answer {response_id}</td>" in page(client, "comments", **RANGE)  # an agent has no contact pages
    admin = client.application.test_client()
    sign_in(admin, "admin@example.com", add_user(rt, "admin@example.com", Role.ADMIN))
    html = page(admin, "comments", **RANGE)
    link = f'<a href="/app/contacts/{contact_id}#answer-{response_id}">answer {response_id}</a>'
    assert link in html
    contact_page = admin.get(f"/app/contacts/{contact_id}").get_data(as_text=True)
    assert f'<tr id="answer-{response_id}">' in contact_page and "Terrible, never again" in contact_page
