"""Score alerts: a drop beyond noise is told once, to the queue's Slack channel and to the admins by real
SMTP; a dip of the size of the interval is not; a recovered score fires again on the next drop."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlmodel import select

from bot.runtime import Runtime
from bot.score_alerts import check_score_drops
from bot.users import create_user, set_disabled
from storage.models import Role, ScoreAlert
from tests.answers import store_answers
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack
from tests.fakes.smtp import FakeSmtp
from tests.helpers import DETRACTORS_TO_RECOVERY, flow_yaml, install_flow

SUPPORT = "C0SUPPORT"
ADMIN, OTHER_ADMIN, AGENT = "boss@shop.example.com", "gone@shop.example.com", "agent@shop.example.com"
TODAY = date(2026, 3, 31)  # window: Mar 25-31; baseline: the 28 days Feb 25 - Mar 24
IN_WINDOW, IN_BASELINE = TODAY - timedelta(days=2), TODAY - timedelta(days=20)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_channel(SUPPORT, "support")
        yield fake


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp() as server:
        yield server


@pytest.fixture
def app(database_url: str, slack: FakeSlack, smtp: FakeSmtp, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    from bot.app import create_app

    for name, value in {"SLACK_BOT_TOKEN": slack.token, "SLACK_SIGNING_SECRET": "secret",
                        "SLACK_API_BASE_URL": slack.base_url, "TOUCHPOINT_SMTP_URL": smtp.url}.items():
        monkeypatch.setenv(name, value)
    app = create_app(make_settings(database_url))
    yield app
    app.extensions["touchpoint"].close()


@pytest.fixture
def checkout(rt: Runtime, app: Flask) -> None:
    """The flow, its queue's Slack channel, two admins (one disabled) and an agent; a baseline of NPS 40
    (50 promoters, 40 passives, 10 detractors of 100)."""
    install_flow(rt, flow_yaml("checkout", extra=DETRACTORS_TO_RECOVERY))
    client = app.test_client()
    from storage.apikeys import create_api_key
    with rt.session() as session:
        auth = {"Authorization": f"Bearer {create_api_key(session, 'tests')}"}
    assert client.patch("/api/v1/queues/recovery", json={"slack_channel": SUPPORT}, headers=auth).status_code == 200
    for email, role in ((ADMIN, Role.ADMIN), (OTHER_ADMIN, Role.ADMIN), (AGENT, Role.AGENT)):
        create_user(rt, email, role)
    set_disabled(rt, OTHER_ADMIN, True)
    store_answers(rt, IN_BASELINE, [10] * 50 + [8] * 40 + [3] * 10, flow="checkout")


def seed_drop(rt: Runtime) -> None:
    """The window: 15 promoters, 15 passives, 20 detractors (NPS -10), the detractors' comments tagged."""
    store_answers(rt, IN_WINDOW, [9] * 15 + [7] * 15, flow="checkout", comment="Lovely staff", themes=["staff"],
                  sentiment="positive")
    store_answers(rt, IN_WINDOW, [2] * 12, flow="checkout", comment="Late again", themes=["delivery"],
                  sentiment="negative")
    store_answers(rt, TODAY, [0] * 5, flow="checkout", comment="Too dear, and late", themes=["price", "delivery"],
                  sentiment="negative")
    store_answers(rt, IN_WINDOW, [5] * 3, flow="checkout")


def alerts(rt: Runtime) -> list[ScoreAlert]:
    with rt.session() as session:
        return list(session.exec(select(ScoreAlert).order_by(ScoreAlert.id)).all())


EXPECTED = """\
NPS of Test flow checkout (checkout) dropped significantly.
Last 7 days (2026-03-25 to 2026-03-31): -10.0 (95% interval -33.0 to 13.0, 50 answers)
The 28 days before: 40.0 (95% interval 27.0 to 53.0, 100 answers)
Change: -50.0 points (95% interval -76.4 points to -23.6 points)
Top themes among detractors and negative comments: delivery (17), price (5)

Dashboard: http://touchpoint.test/app/insights?flow=checkout"""
# By hand: window Var = 1e4 * (.3 + .4 - (-.1)^2) / 50 = 138, half width 1.96 * 11.75 = 23.02;
# baseline Var = 1e4 * (.6 - .16) / 100 = 44, half width 13.0; change -50 -+ 1.96 * sqrt(182) = 26.44.


def test_a_drop_is_told_once_to_the_queues_slack_channel_and_the_enabled_admins(
    rt: Runtime, slack: FakeSlack, smtp: FakeSmtp, checkout: None
) -> None:
    seed_drop(rt)
    assert check_score_drops(rt, TODAY).fired == 1
    assert check_score_drops(rt, TODAY).fired == 0  # the next hour's run: the episode is open
    [posted] = slack.messages(SUPPORT)
    assert posted["text"] == EXPECTED
    [mail] = smtp.to(ADMIN)
    assert mail["Subject"] == "NPS dropped: Test flow checkout"
    assert mail.get_body(("plain",)).get_content().replace("\r\n", "\n").startswith(EXPECTED)
    assert smtp.to(OTHER_ADMIN) == [] and smtp.to(AGENT) == []
    [alert] = alerts(rt)
    assert (alert.flow_key, alert.segment, alert.metric, alert.window_n, alert.baseline_n) == (
        "checkout", "", "nps", 50, 100)
    assert (round(alert.window_value, 1), round(alert.baseline_value, 1), round(alert.delta_high, 1)) == (
        -10.0, 40.0, -23.6)
    assert alert.themes == [["delivery", 17], ["price", 5]] and alert.notified == "slack,email"
    assert alert.recovered_at is None


def test_a_dip_the_size_of_the_interval_or_with_too_few_answers_is_not_told(
    rt: Runtime, slack: FakeSlack, smtp: FakeSmtp, checkout: None
) -> None:
    # 20 promoters, 20 passives, 10 detractors: NPS 20, down 20 from 40, but the change's interval is
    # -20 -+ 1.96 * sqrt(112 + 44) = -44.5 to +4.5: it includes no change.
    store_answers(rt, IN_WINDOW, [10] * 20 + [8] * 20 + [0] * 10, flow="checkout")
    assert check_score_drops(rt, TODAY).fired == 0
    # A week later the window holds only 12 answers, all detractors: fewer than the 30 an alert needs.
    store_answers(rt, TODAY + timedelta(days=7), [0] * 12, flow="checkout")
    assert check_score_drops(rt, TODAY + timedelta(days=7)).fired == 0
    assert slack.messages(SUPPORT) == [] and smtp.received == [] and alerts(rt) == []


def test_a_recovered_score_re_arms_and_the_next_drop_is_told_again(
    rt: Runtime, slack: FakeSlack, smtp: FakeSmtp, checkout: None
) -> None:
    seed_drop(rt)
    check_score_drops(rt, TODAY)
    store_answers(rt, IN_WINDOW, [10] * 60, flow="checkout")  # 75 P, 15 passives, 20 D of 110: NPS 50 >= 40
    report = check_score_drops(rt, TODAY)
    assert (report.fired, report.recovered) == (0, 1)
    assert check_score_drops(rt, TODAY).recovered == 0
    [first] = alerts(rt)
    assert first.recovered_at is not None and first.open_key is None
    store_answers(rt, IN_WINDOW, [1] * 100, flow="checkout")  # 75 P, 120 D of 210: NPS -21.4
    assert check_score_drops(rt, TODAY).fired == 1
    assert len(slack.messages(SUPPORT)) == 2 and len(smtp.to(ADMIN)) == 2
    assert [a.recovered_at is None for a in alerts(rt)] == [False, True]


def test_a_segment_alerts_on_its_own_when_asked(rt: Runtime, slack: FakeSlack, checkout: None) -> None:
    rt.settings.alert_segments = "channel"
    seed_drop(rt)
    store_answers(rt, IN_WINDOW, [10] * 40, flow="checkout", channel="email")  # email is fine
    check_score_drops(rt, TODAY)
    assert sorted(a.segment for a in alerts(rt)) == ["channel:sms"]
    assert "NPS of Test flow checkout (checkout), channel sms dropped" in slack.messages(SUPPORT)[0]["text"]


def test_a_contact_attribute_and_an_event_property_are_segments_too(rt: Runtime, slack: FakeSlack,
                                                                   checkout: None) -> None:
    # Gold customers in the north: 40 of the baseline's promoters, all of the window's detractors.
    rt.settings.alert_segments = "contact.plan, event.region"
    gold, north = {"plan": "gold"}, {"region": "north"}
    store_answers(rt, IN_BASELINE, [10] * 40, flow="checkout", attributes=gold, properties=north)
    store_answers(rt, IN_BASELINE, [10] * 20 + [8] * 20, flow="checkout", attributes={"plan": "basic"},
                  properties={"region": "south"})
    store_answers(rt, IN_WINDOW, [0] * 30, flow="checkout", attributes=gold, properties=north,
                  comment="Broken", themes=["product"], sentiment="negative")
    store_answers(rt, IN_WINDOW, [10] * 100, flow="checkout", attributes={"plan": "basic"},
                  properties={"region": "south"})
    check_score_drops(rt, TODAY)
    assert sorted(a.segment for a in alerts(rt)) == ["contact.plan:gold", "event.region:north"]
    texts = [m["text"] for m in slack.messages(SUPPORT)]
    assert any(t.startswith("NPS of Test flow checkout (checkout), contact.plan gold dropped") for t in texts)
    assert all("Top themes among detractors and negative comments: product (30)" in t for t in texts)
    # The whole flow (110 promoters, 10 detractors of 180 before: 55.6; 100 and 30 of 130 now: 53.8) is not.


def test_a_segment_must_name_a_channel_attribute_or_property() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="a segment is channel"):
        make_settings("sqlite://", alert_segments="channel, plan")
    assert make_settings("sqlite://", alert_segments=" channel ,contact.plan").alert_segment_list == [
        "channel", "contact.plan"]


def test_alerts_off_tells_nobody(rt: Runtime, slack: FakeSlack, checkout: None) -> None:
    rt.settings.alerts = "off"
    seed_drop(rt)
    assert check_score_drops(rt, TODAY).fired == 0 and alerts(rt) == []


def test_the_cli_lists_the_drops(rt: Runtime, database_url: str, checkout: None, tmp_path,  # type: ignore[no-untyped-def]
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    env = {"TOUCHPOINT_LOG_LEVEL": "WARNING", "TOUCHPOINT_DATABASE_URL": database_url, "SLACK_BOT_TOKEN": ""}
    run = CliRunner()
    assert run.invoke(main, ["alerts", "list"], env=env).stdout == "no score drop yet\n"
    seed_drop(rt)
    check_score_drops(rt, TODAY)
    [line] = run.invoke(main, ["alerts", "list"], env=env).stdout.splitlines()
    assert line.startswith("#1 checkout NPS -10.0 against 40.0 (-50.0), fired ")
    assert line.endswith(", open, told: slack,email")


@pytest.mark.parametrize(("kind", "good", "bad", "line"), [
    ("csat", 5, 2, "Last 7 days (2026-03-25 to 2026-03-31): 50.0% (95% interval 35.2% to 64.8%, 40 answers)"),
    ("ces", 6, 2, "Last 7 days (2026-03-25 to 2026-03-31): 4.0 (95% interval 3.4 to 4.6, 40 answers)"),
    ("thumbs", 1, 0, "Last 7 days (2026-03-25 to 2026-03-31): 50.0% (95% interval 35.2% to 64.8%, 40 answers)"),
])
def test_each_question_kind_is_compared_in_its_own_measure(rt: Runtime, slack: FakeSlack, checkout: None,
                                                           kind: str, good: int, bad: int, line: str) -> None:
    text = flow_yaml("rating", kind=kind, extra=DETRACTORS_TO_RECOVERY)
    if kind == "thumbs":
        text = text.replace('      passive: "What would make it a 10?"\n', "")
    install_flow(rt, text)
    store_answers(rt, IN_BASELINE, [good] * 90 + [bad] * 10, flow="rating", question=kind)
    store_answers(rt, IN_WINDOW, [good] * 20 + [bad] * 20, flow="rating", question=kind)
    assert check_score_drops(rt, TODAY).fired == 1
    [posted] = slack.messages(SUPPORT)
    assert posted["text"].splitlines()[1] == line
    # CSAT and thumbs: 20 of 40 against 90 of 100, Wilson 0.5 -+ ... = 35.2% to 64.8%;
    # CES: mean 4, sample sd sqrt(160 / 39) = 2.026, t(39) = 2.023: 4 -+ 2.023 * 2.026 / sqrt(40) = 4 -+ 0.65.
