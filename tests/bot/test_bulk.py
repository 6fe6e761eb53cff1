"""Bulk sends from the CLI: one flow to a CSV list, checked first, safe to run again."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlmodel import select

from bot.cli import main
from bot.runtime import Runtime
from storage.models import Delivery, Event
from tests.helpers import flow_yaml, install_flow

LIST = """external_id,name,phone,email,attr.plan,prop.segment
ada,Ada Lovelace,+447911123456,,pro,enterprise
bob,Bob,,bob@example.com,,smb
ada,Ada again,+447911123456,,,
"""


@pytest.fixture
def touchpoint(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), env={"TOUCHPOINT_DATABASE_URL": database_url})
    return run


def deliveries(rt: Runtime) -> list[tuple[str, str]]:
    with rt.session() as session:
        rows = session.exec(select(Delivery.flow_key, Event.idempotency_key).join(Event)).all()
    return sorted((flow, key) for flow, key in rows)


def test_a_dry_run_says_who_would_be_skipped_and_sends_nothing(rt: Runtime, touchpoint, tmp_path: Path) -> None:
    install_flow(rt, flow_yaml("relationship", event="relationship.survey", channels="[sms]"))
    (tmp_path / "q4.csv").write_text(LIST, encoding="utf-8")

    result = touchpoint("send", "--flow", "relationship", "q4.csv", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "relationship (q4): would schedule 1 survey(s) for 3 contact(s)" in result.stdout
    assert "skipped 1: unreachable (e.g. line 3)" in result.stdout
    assert "skipped 1: listed twice (e.g. line 4)" in result.stdout
    assert deliveries(rt) == []


def test_the_same_campaign_twice_sends_nothing_twice_and_a_longer_list_only_the_new(
    rt: Runtime, touchpoint, tmp_path: Path
) -> None:
    install_flow(rt, flow_yaml("relationship", event="relationship.survey", channels="[sms]"))
    install_flow(rt, flow_yaml("other", event="relationship.survey", channels="[sms]"))
    (tmp_path / "q4.csv").write_text(LIST, encoding="utf-8")
    assert "scheduled 1 survey(s)" in touchpoint("send", "--flow", "relationship", "q4.csv").stdout
    assert deliveries(rt) == [("relationship", "bulk:relationship:q4:ada")]  # not the other flow of that event

    again = touchpoint("send", "--flow", "relationship", "q4.csv")
    assert "scheduled 0 survey(s)" in again.stdout and "2 already in this campaign" in again.stdout  # bob too
    (tmp_path / "q4.csv").write_text(LIST + "cy,Cy,+447911123457,,,\n", encoding="utf-8")
    assert "scheduled 1 survey(s)" in touchpoint("send", "--flow", "relationship", "q4.csv").stdout
    next_quarter = touchpoint("send", "--flow", "relationship", "q4.csv", "--campaign", "q1")
    assert "scheduled 2 survey(s)" in next_quarter.stdout
    assert len(deliveries(rt)) == 4


def test_a_bad_row_names_file_line_and_field_and_nothing_is_sent(rt: Runtime, touchpoint, tmp_path: Path) -> None:
    install_flow(rt, flow_yaml("relationship", event="relationship.survey", channels="[sms]"))
    (tmp_path / "list.csv").write_text(LIST.replace("+447911123456,,pro", "not a phone,,pro"), encoding="utf-8")
    result = touchpoint("send", "--flow", "relationship", "list.csv")
    assert result.exit_code == 1
    assert result.stderr.startswith("list.csv:2: phone: ")
    assert deliveries(rt) == []

    (tmp_path / "cols.csv").write_text("external_id,fax\nada,123\n", encoding="utf-8")
    unknown = touchpoint("send", "--flow", "relationship", "cols.csv")
    assert unknown.exit_code == 1 and "cols.csv:1: fax: unknown column" in unknown.stderr


def test_an_unknown_flow_is_refused(touchpoint, tmp_path: Path) -> None:
    (tmp_path / "q4.csv").write_text(LIST, encoding="utf-8")
    result = touchpoint("send", "--flow", "nope", "q4.csv")
    assert result.exit_code == 1 and "flow nope does not exist" in result.stderr


def test_the_api_sends_a_flow_to_a_list_and_names_a_bad_recipients_field(rt: Runtime, client, auth: dict) -> None:
    install_flow(rt, flow_yaml("relationship", event="relationship.survey", channels="[sms]"))
    recipients = [{"contact": {"external_id": "ada", "phone": "+447911123456"}, "properties": {"segment": "smb"}},
                  {"contact": {"external_id": "bob", "email": "bob@example.com"}}]
    url = "/api/v1/flows/relationship/sends"
    dry = client.post(url, json={"campaign": "q4", "recipients": recipients, "dry_run": True}, headers=auth)
    assert dry.status_code == 200
    assert dry.get_json() == {"dry_run": True, "scheduled": 1, "already": 0,
                              "skipped": [{"reason": "unreachable", "count": 1, "examples": [1]}]}
    assert deliveries(rt) == []
    for expected in ({"scheduled": 1, "already": 0}, {"scheduled": 0, "already": 2}):
        sent = client.post(url, json={"campaign": "q4", "recipients": recipients}, headers=auth).get_json()
        assert {name: sent[name] for name in expected} == expected
    assert deliveries(rt) == [("relationship", "bulk:relationship:q4:ada")]

    bad = client.post(url, json={"campaign": "q4", "recipients": [{"contact": {"external_id": "x", "phone": "12"}}]},
                      headers=auth)
    assert bad.status_code == 422 and bad.get_json()["error"]["details"][0]["field"] == "recipients.0.contact.phone"
    missing = client.post("/api/v1/flows/nope/sends", json={"campaign": "q4", "recipients": recipients}, headers=auth)
    assert missing.status_code == 404
