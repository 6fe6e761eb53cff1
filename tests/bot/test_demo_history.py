"""`touchpoint demo --history`: the past it fills is counted right and shows its drop as a significant one."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlmodel import select

from bot.cli import main
from bot.dashboard import Filters, closing_the_loop, segments, themes
from bot.demo import load_demo
from bot.demo_history import DROP_DAYS, load_history, parse_days
from bot.insights import score_summary
from bot.runtime import Runtime
from storage.db import read_session
from storage.models import FollowUp, Response, Role
from tests.storage.test_insights_tallies import _recount, _tallied
from tests.storage.test_theme_tallies import recount as theme_recount
from tests.storage.test_theme_tallies import tallied as theme_tallied
from tests.web_client import add_user, sign_in

TODAY = date(2026, 3, 30)


@pytest.fixture
def history(rt: Runtime) -> str:
    load_demo(rt)
    return load_history(rt, 28, today=TODAY)


def test_the_tallies_equal_a_recount_of_the_stored_answers(rt: Runtime, history: str) -> None:
    assert "28 days up to 2026-03-29" in history
    with read_session(rt.engine) as session:
        assert _tallied(session) == +_recount(session)
        assert theme_tallied(session) == theme_recount(session)
    assert load_history(rt, 28, today=TODAY) == "history: already loaded"


def test_the_late_deliveries_show_as_a_significant_drop_with_their_theme(rt: Runtime, history: str) -> None:
    since = TODAY - timedelta(days=DROP_DAYS)
    nps = score_summary(rt, "nps", since, TODAY, flow="post-delivery-nps")
    assert nps.change.significant and nps.change.delta is not None and nps.change.delta < -15
    csat = score_summary(rt, "csat", since, TODAY, flow="support-csat")
    assert not csat.change.significant  # the other flows did not move
    f = Filters(since, TODAY, flow="post-delivery-nps", segment="contact.plan")
    top = themes(rt, f)[0]
    assert top.theme == "delivery" and top.volume > 2 * top.previous_volume
    assert top.impact.significant and top.impact.delta is not None and top.impact.delta < 0
    assert {row.value for row in segments(rt, f)} == {"free", "team", "business"}


def test_the_history_option_is_checked() -> None:
    assert parse_days("90d") == 90 and parse_days("7") == 7
    result = CliRunner().invoke(main, ["demo", "--history", "ninety"])
    assert result.exit_code == 2 and "history must be a number of days such as 90d" in result.output


def test_the_loop_view_shows_the_recovery_of_resolved_cases(rt: Runtime, client: FlaskClient, history: str) -> None:
    with read_session(rt.engine) as session:
        rechecks = session.exec(select(Response).where(Response.recheck_of.is_not(None))).all()
        cases = {c.id: c for c in session.exec(select(FollowUp)).all()}
    assert len(rechecks) > 20
    for answer in rechecks:  # each about a case, asked after it was resolved, before the history's end
        case = cases[answer.recheck_of]
        assert answer.answered_at > case.created_at and answer.answered_at.date() < TODAY
        assert (case.status == "resolved") == (answer.band != "detractor")
    loop = closing_the_loop(rt, Filters(TODAY - timedelta(days=28), TODAY)).figures
    assert loop is not None and loop.rechecks_answered == len(rechecks)
    assert loop.recovered == sum(answer.band != "detractor" for answer in rechecks)
    assert loop.recovery_rate is not None and 0.5 < loop.recovery_rate < 0.9
    sign_in(client, "lead@example.com", add_user(rt, "lead@example.com", Role.AGENT))
    html = client.get("/app/insights/loop", query_string={"from": "2026-03-02", "to": "2026-03-29"}).get_data(
        as_text=True)
    shown = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    rate = f"{100 * loop.recovery_rate:.0f}% ({loop.recovered} of {loop.rechecks_answered})"
    assert f"Recovery rate {rate}" in shown
    one = client.get("/app/insights/loop", query_string={"from": "2026-03-02", "to": "2026-03-29",
                                                          "queue": "support-recovery"}).get_data(as_text=True)
    assert "Recovery rate" in one and rate not in re.sub(r"<[^>]+>", " ", one)


def test_the_loop_view_and_the_cases_export_cover_the_same_cases(rt: Runtime, client: FlaskClient,
                                                                  history: str) -> None:
    sign_in(client, "lead@example.com", add_user(rt, "lead@example.com", Role.AGENT))
    since, until = TODAY - timedelta(days=28), TODAY
    whole = closing_the_loop(rt, Filters(since, until)).figures
    assert whole is not None
    seen = 0
    for params in ({"flow": "post-delivery-nps"}, {"flow": "support-csat"}, {"channel": "email"},
                   {"flow": "support-csat", "channel": "slack", "queue": "support-recovery"}):
        f = Filters(since, until, flow=params.get("flow"), channel=params.get("channel"), queue=params.get("queue"))
        loop = closing_the_loop(rt, f).figures
        assert loop is not None and 0 < loop.cases < whole.cases
        query = {"from": since.isoformat(), "to": (until - timedelta(days=1)).isoformat(), **params}
        body = client.get("/app/insights/cases.csv", query_string=query).get_data(as_text=True)
        rows = list(csv.DictReader(io.StringIO(body)))
        assert len(rows) == loop.cases
        assert all(r["flow"] == params.get("flow", r["flow"]) and r["channel"] == params.get("channel", r["channel"])
                   for r in rows)
        shown = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", client.get("/app/insights/loop", query_string=query)
                                            .get_data(as_text=True)))
        assert f"Cases opened {loop.cases} " in shown
        seen += loop.cases if "flow" in params and "channel" not in params else 0
    assert seen == whole.cases  # the two flows' cases are all the cases
