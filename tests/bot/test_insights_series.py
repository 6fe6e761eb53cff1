"""Score series as the API shows them: per bucket, with intervals worked out by hand in the comments."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.insights import BadInsightQuery, score_series, score_summary
from bot.runtime import Runtime
from storage.models import Contact, Delivery, Event, Flow, Response

MONDAY = date(2026, 3, 2)
BANDS = {"nps": lambda s: "promoter" if s >= 9 else "passive" if s >= 7 else "detractor",
         "csat": lambda s: "promoter" if s >= 4 else "passive" if s == 3 else "detractor",
         "ces": lambda s: "passive"}


def answer(rt: Runtime, day: date, scores: list[int], flow: str = "a", channel: str = "sms",
           question: str = "nps") -> None:
    """Answers stored as the bot stores them (through the ORM, so the tallies move), at noon UTC that day."""
    at = datetime.combine(day, time(12), tzinfo=UTC)
    with rt.session() as session:
        contact = Contact(external_id=f"c-{day}-{flow}-{channel}-{question}-{len(scores)}")
        flow_row = session.exec(select(Flow).where(Flow.key == flow)).first() or Flow(key=flow, definition={})
        session.add_all([contact, flow_row])
        session.flush()
        for i, score in enumerate(scores):
            event = Event(type="t", contact_id=contact.id, idempotency_key=f"{contact.external_id}-{i}")
            session.add(event)
            session.flush()
            delivery = Delivery(event_id=event.id, flow_id=flow_row.id, flow_key=flow, contact_id=contact.id,
                                channel=channel, due_at=at, token=f"{contact.external_id}-{i}", sent_at=at)
            session.add(delivery)
            session.flush()
            session.add(Response(delivery_id=delivery.id, flow_key=flow, channel=channel, contact_id=contact.id,
                                 question=question, score=score, band=BANDS[question](score), answered_at=at))


@pytest.fixture
def two_weeks(rt: Runtime) -> None:
    # Week 1 on SMS: 10 promoters, 5 passives, 5 detractors; on email: 5 promoters.
    answer(rt, MONDAY, [10] * 10 + [7] * 5)
    answer(rt, MONDAY + timedelta(days=6), [3] * 5)
    answer(rt, MONDAY + timedelta(days=2), [10] * 5, flow="b", channel="email")
    # Week 2 on SMS: 2 promoters, 8 passives, 10 detractors.
    answer(rt, MONDAY + timedelta(days=7), [9] * 2 + [8] * 8 + [0] * 10)
    # Outside the range: the Sunday before and the Monday after.
    answer(rt, MONDAY - timedelta(days=1), [0] * 10)
    answer(rt, MONDAY + timedelta(days=14), [0] * 10)


def series(client: FlaskClient, auth: dict, **params: str) -> dict:
    response = client.get("/api/v1/insights/series", query_string=params, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_weekly_nps_with_intervals_and_a_significant_drop(client: FlaskClient, auth: dict, two_weeks: None) -> None:
    body = series(client, auth, metric="nps", bucket="week", since="2026-03-02", until="2026-03-16")
    [only] = body["series"]
    week1, week2 = only["points"]
    # Week 1: 15 promoters, 5 detractors of 25 -> NPS 40; Var = 1e4 * (.6 + .2 - .4^2) / 25 = 256;
    # half width 1.96 * 16 = 31.36 -> [8.64, 71.36]
    assert (week1["start"], week1["end"], week1["partial"]) == ("2026-03-02", "2026-03-09", False)
    assert (week1["n"], week1["enough"], week1["value"], week1["low"], week1["high"]) == (25, True, 40, 8.6, 71.4)
    # Week 2: 2 promoters, 10 detractors of 20 -> -40; Var = 1e4 * (.1 + .5 - .4^2) / 20 = 220
    assert (week2["n"], week2["value"]) == (20, -40)
    # Change: -80, se = sqrt(256 + 220) = 21.817, z = -3.667 -> significant; interval -80 -+ 42.76
    assert only["change"] == {"delta": -80, "low": -122.8, "high": -37.2, "z": -3.67, "significant": True}
    assert body["min_answers"] == 10 and (body["since"], body["until"]) == ("2026-03-02", "2026-03-16")


def test_grouped_by_channel_small_groups_show_no_number(client: FlaskClient, auth: dict, two_weeks: None) -> None:
    body = series(client, auth, bucket="week", since="2026-03-02", until="2026-03-16", by="channel")
    email, sms = body["series"]
    assert email["group"] == "email"
    assert [(p["n"], p["enough"], p["value"], p["low"]) for p in email["points"]] == [
        (5, False, None, None), (0, False, None, None)]
    assert email["change"]["significant"] is None
    # SMS week 1: 10 promoters, 5 detractors of 20 -> 25 [-11.3, 61.3]; week 2 as above, -40.
    # Change -65, se = sqrt(343.75 + 220) = 23.744, z = -2.74
    assert [(p["n"], p["value"], p["low"], p["high"]) for p in sms["points"]] == [
        (20, 25, -11.3, 61.3), (20, -40, -69.1, -10.9)]
    assert (sms["change"]["z"], sms["change"]["significant"]) == (-2.74, True)


def test_filters_and_partial_buckets(client: FlaskClient, auth: dict, two_weeks: None) -> None:
    body = series(client, auth, bucket="week", since="2026-03-04", until="2026-03-10", flow="a", channel="sms")
    first, second = body["series"][0]["points"]
    # Wednesday to Sunday of week 1 holds only the five detractors of Sunday; Monday of week 2 all 20 answers.
    assert (first["start"], first["end"], first["partial"], first["n"]) == ("2026-03-04", "2026-03-09", True, 5)
    assert (second["start"], second["end"], second["partial"], second["n"]) == ("2026-03-09", "2026-03-10", True, 20)
    assert series(client, auth, flow="b", since="2026-03-02", until="2026-03-16")["series"][0]["points"][0]["n"] == 5


def test_months_default_to_the_last_twelve(client: FlaskClient, auth: dict, two_weeks: None) -> None:
    body = series(client, auth, bucket="month", until="2026-04-01")
    points = body["series"][0]["points"]
    assert [p["start"] for p in (points[0], points[-1])] == ["2025-04-01", "2026-03-01"]
    assert len(points) == 12
    assert points[-1]["n"] == 25 + 20 + 10 + 10  # all of March, the Sunday before and the Monday after included
    assert points[-2]["n"] == 0 and points[-2]["start"] == "2026-02-01"


def test_csat_wilson_and_ces_t_intervals(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    answer(rt, MONDAY, [5] * 4 + [4] * 4 + [2] * 2, question="csat")
    answer(rt, MONDAY, [3] * 5 + [5] * 5, question="ces")
    csat = series(client, auth, metric="csat", bucket="day", since="2026-03-02", until="2026-03-03")
    # 8 of 10 satisfied: Wilson [49.02, 94.33] (see tests/flows/test_intervals.py)
    assert [(p["value"], p["low"], p["high"]) for p in csat["series"][0]["points"]] == [(80, 49.0, 94.3)]
    ces = series(client, auth, metric="ces", bucket="day", since="2026-03-02", until="2026-03-03")
    # mean 4, s^2 = 10/9, se = 1/3, t(9) = 2.2622 -> [3.25, 4.75]
    assert [(p["value"], p["low"], p["high"]) for p in ces["series"][0]["points"]] == [(4, 3.25, 4.75)]


def test_the_service_takes_plain_inputs(rt: Runtime, two_weeks: None) -> None:
    report = score_series(rt, "nps", "week", since=MONDAY, until=MONDAY + timedelta(days=14), by="flow")
    assert [s.group for s in report.series] == ["a", "b"]
    assert report.series[0].points[0].estimate.value == pytest.approx(25)


def test_summary_compares_a_period_with_the_one_before(rt: Runtime, two_weeks: None) -> None:
    # Week 2 against week 1 over all channels: -40 against 40, as in the weekly series.
    summary = score_summary(rt, "nps", MONDAY + timedelta(days=7), MONDAY + timedelta(days=14))
    assert (summary.current.n, summary.previous.n) == (20, 25)
    assert summary.change.delta == pytest.approx(-80)
    assert summary.change.significant is True
    only_email = score_summary(rt, "nps", MONDAY, MONDAY + timedelta(days=7), channel="email")
    assert (only_email.current.n, only_email.current.enough, only_email.change.significant) == (5, False, None)


def test_the_service_names_a_bad_input(rt: Runtime) -> None:
    with pytest.raises(BadInsightQuery) as raised:
        score_series(rt, "stars")
    assert (raised.value.field, raised.value.message) == ("metric", "must be one of nps, csat, ces")
    with pytest.raises(BadInsightQuery) as raised:
        score_summary(rt, "nps", MONDAY, MONDAY)
    assert raised.value.field == "until"


@pytest.mark.parametrize(("params", "field", "message"), [
    ({"since": "2026-13-01"}, "since", "not a date (YYYY-MM-DD)"),
    ({"until": "2026-03-01T00:00:00Z"}, "until", "not a date (YYYY-MM-DD)"),
    ({"metric": "stars"}, "metric", "must be one of nps, csat, ces"),
    ({"by": "contact"}, "by", "must be one of flow, channel"),
    ({"flow": "nope"}, "flow", "no such flow"),
    ({"since": "2026-03-02", "until": "2026-03-02"}, "until", "must be after since"),
    ({"bucket": "day", "since": "2020-01-01", "until": "2026-01-01"}, "bucket",
     "more than 400 days in the range: use a longer bucket"),
])
def test_bad_parameters_are_named(client: FlaskClient, auth: dict, params: dict, field: str, message: str) -> None:
    response = client.get("/api/v1/insights/series", query_string=params, headers=auth)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == [{"field": field, "message": message}]
