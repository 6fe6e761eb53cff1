"""The survey funnel and the CSV exports, over surveys that went through the whole bot: events in, sends by the
worker, replies on the sandbox, cases opened by routing."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from bot.insights import FORMULA_STARTS, safe_cell
from bot.runtime import Runtime
from storage.db import read_session
from storage.funnel import counted_from_rows
from storage.models import Role
from tests.helpers import DETRACTORS_TO_RECOVERY, event, flow_yaml, install_flow, tick
from tests.storage.test_funnel_tally import tallied
from tests.web_client import add_user, sign_in

INJECTION = '=HYPERLINK("http://evil.example","click")'


def customer(i: int, **extra: str) -> dict[str, str]:
    return {"external_id": f"cust-{i}", "name": "Ada", "phone": f"+44791112340{i}", **extra}


def post(client: FlaskClient, auth: dict, body: dict) -> dict:
    response = client.post("/api/v1/events", json=body, headers=auth)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def say(client: FlaskClient, auth: dict, phone: str, text: str) -> None:
    response = client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": phone, "text": text},
                           headers=auth)
    assert response.status_code == 200, response.get_json()


@pytest.fixture
def surveys(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    """Six matched events: a detractor who comments, a promoter who does not, one who never answers, one
    contact without an address, one throttled, and one survey still waiting for its delay (another flow)."""
    install_flow(rt, flow_yaml(extra="throttle: 30d\n" + DETRACTORS_TO_RECOVERY))
    install_flow(rt, flow_yaml("later", event="ticket.solved", delay="2h", ask="never"))
    post(client, auth, event("e1", contact=customer(1), properties={"order": "A-1", "total": 12.5}))
    post(client, auth, event("e2", contact=customer(2)))
    post(client, auth, event("e3", contact=customer(3)))
    post(client, auth, event("e4", contact={"external_id": "nobody"}))
    tick(rt)
    post(client, auth, event("e5", contact=customer(1)))  # surveyed already: throttled
    post(client, auth, event("e6", type_="ticket.solved", contact=customer(5)))
    say(client, auth, "+447911123401", "2")
    say(client, auth, "+447911123401", INJECTION)
    say(client, auth, "+447911123402", "10")


def funnel(client: FlaskClient, auth: dict, **params: str) -> list[dict]:
    response = client.get("/api/v1/insights/funnel", query_string=params, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["funnels"]


def steps(one: dict) -> list[tuple]:
    return [(s["step"], s["count"], s["drop"], s["reasons"]) for s in one["steps"]]


def test_funnel_counts_each_step_and_why_surveys_dropped(client: FlaskClient, auth: dict, surveys: None,
                                                          rt: Runtime) -> None:
    [whole] = funnel(client, auth)
    assert whole["group"] is None
    assert steps(whole) == [
        ("matched", 6, 0, {}),
        ("eligible", 4, 2, {"throttled": 1, "unreachable": 1}),
        ("sent", 3, 1, {"pending": 1}),
        ("delivered", 3, 0, {}),
        ("answered", 2, 1, {"awaiting": 1}),
        ("commented", 1, 1, {}),
    ]
    with read_session(rt.engine) as session:  # the answer path settled its deliveries as the rows say
        assert tallied(session) == +counted_from_rows(session)


def test_funnel_per_flow_and_per_channel(client: FlaskClient, auth: dict, surveys: None) -> None:
    later, nps = funnel(client, auth, by="flow")
    assert (later["group"], nps["group"]) == ("later", "nps-test")
    assert [s["count"] for s in nps["steps"]] == [5, 3, 3, 3, 2, 1]
    assert [s["count"] for s in later["steps"]] == [1, 1, 0, 0, 0, 0]
    # Skips at ingest have no channel: per channel they stand apart, and a channel filter leaves them out.
    sms, unchosen = funnel(client, auth, by="channel")
    assert (sms["group"], [s["count"] for s in sms["steps"]]) == ("sms", [4, 4, 3, 3, 2, 1])
    assert (unchosen["group"], [s["count"] for s in unchosen["steps"]]) == (None, [2, 0, 0, 0, 0, 0])
    [only_sms] = funnel(client, auth, channel="sms")
    assert [s["count"] for s in only_sms["steps"]] == [4, 4, 3, 3, 2, 1]
    [old] = funnel(client, auth, since="2020-01-01", until="2020-02-01")
    assert [s["count"] for s in old["steps"]] == [0] * 6


def read_csv(client: FlaskClient, auth: dict, path: str, **params: str) -> list[dict[str, str]]:
    response = client.get(f"/api/v1/exports/{path}", query_string=params, headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{path}"'
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def unquoted(cell: str) -> str:
    """What the cell held before the export made it safe for spreadsheets."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def test_responses_csv_reads_back_as_the_api_shows_them(client: FlaskClient, auth: dict, surveys: None) -> None:
    rows = read_csv(client, auth, "responses.csv")
    items = client.get("/api/v1/responses", headers=auth).get_json()["items"]
    assert len(rows) == len(items) == 2
    for row, item in zip(rows, items, strict=True):
        assert {k: unquoted(v) for k, v in row.items() if k not in ("event_type", "event_properties")} == {
            "id": str(item["id"]), "answered_at": item["answered_at"], "flow": item["flow"],
            "channel": item["channel"], "contact": item["contact"]["external_id"], "question": item["question"],
            "score": str(item["score"]), "band": item["band"], "comment": item["comment"] or "",
            "sentiment": item["sentiment"]["label"] or "",
            "polarity": "" if item["sentiment"]["polarity"] is None else str(item["sentiment"]["polarity"]),
            "themes": ";".join(item["themes"]),
        }
    assert rows[0]["comment"] == "'" + INJECTION  # a spreadsheet shows it as text instead of running it
    assert (rows[0]["event_type"], json.loads(rows[0]["event_properties"])) == (
        "order.delivered", {"order": "A-1", "total": 12.5})
    assert read_csv(client, auth, "responses.csv", since="2999-01-01T00:00:00Z") == []
    assert [r["contact"] for r in read_csv(client, auth, "responses.csv", flow="nps-test", channel="sms")] == [
        "cust-1", "cust-2"]


def case_row(item: dict) -> dict[str, str]:
    """A case as /api/v1/followups shows it, in the cases' CSV columns."""
    return {
        "id": str(item["id"]), "queue": item["queue"], "status": item["status"], "priority": item["priority"],
        "assignee": item["assignee"] or "", "opened_at": item["created_at"], "due_at": item["due_at"],
        "resolved_at": item["resolved_at"] or "", "score": str(item["answer"]["score"]),
        "band": item["answer"]["band"], "flow": item["answer"]["flow"], "channel": item["channel"],
        "contact": item["contact"]["external_id"], "reason": item["reason"] or "",
    }


def test_cases_csv_reads_back_as_the_api_shows_them(client: FlaskClient, auth: dict, surveys: None) -> None:
    [row] = read_csv(client, auth, "cases.csv")
    [item] = client.get("/api/v1/followups", headers=auth).get_json()["items"]
    assert row == case_row(item)
    assert (row["queue"], row["priority"], row["score"], row["flow"], row["contact"]) == (
        "recovery", "high", "2", "nps-test", "cust-1")


@pytest.fixture
def two_queues(rt: Runtime, client: FlaskClient, auth: dict, surveys: None) -> None:
    """A second flow whose detractors go to the billing queue, and one of its customers unhappy."""
    install_flow(rt, flow_yaml("billing", event="invoice.paid", channels="[sms]",
                               extra="routing:\n  - when: {band: detractor}\n    queue: billing\n"))
    post(client, auth, event("e7", type_="invoice.paid", contact=customer(6)))
    tick(rt)
    say(client, auth, "+447911123406", "1")


def test_cases_csv_takes_the_dashboards_queue(client: FlaskClient, auth: dict, two_queues: None,
                                             cli: Callable) -> None:
    for queue, contact in (("billing", "cust-6"), ("recovery", "cust-1")):
        rows = read_csv(client, auth, "cases.csv", queue=queue)
        items = client.get("/api/v1/followups", query_string={"queue": queue}, headers=auth).get_json()["items"]
        assert rows == [case_row(item) for item in items] and [r["contact"] for r in rows] == [contact]
    assert [r["queue"] for r in read_csv(client, auth, "cases.csv")] == ["recovery", "billing"]
    assert read_csv(client, auth, "cases.csv", queue="billing", flow="nps-test") == []
    api = client.get("/api/v1/exports/cases.csv", query_string={"queue": "billing"}, headers=auth)
    exported = cli("export", "cases", "--queue", "billing")
    assert exported.exit_code == 0 and exported.stdout_bytes == api.get_data()
    bad = cli("export", "cases", "--queue", "nope")
    assert bad.exit_code == 2 and "--queue" in bad.stderr and "no such queue" in bad.stderr
    refused = client.get("/api/v1/exports/cases.csv", query_string={"queue": "nope"}, headers=auth)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["details"] == [{"field": "queue", "message": "no queue has this key"}]


def test_the_dashboards_cases_link_carries_its_queue(client: FlaskClient, auth: dict, rt: Runtime,
                                                      two_queues: None) -> None:
    sign_in(client, "lead@example.com", add_user(rt, "lead@example.com", Role.AGENT))
    today = datetime.now(UTC).date()
    html = client.get("/app/insights/loop", query_string={"queue": "billing", "channel": "sms"}).get_data(as_text=True)
    link = re.search(r'href="(/app/insights/cases\.csv\?[^"]+)">cases of queue billing</a>', html)
    assert link and "queue=billing" in link[1] and "channel=sms" in link[1]
    page = client.get(link[1].replace("&amp;", "&"))
    assert page.status_code == 200 and page.mimetype == "text/csv"
    body = page.get_data()
    since = today - timedelta(days=83)
    api = client.get("/api/v1/exports/cases.csv", headers=auth, query_string={
        "queue": "billing", "channel": "sms", "since": f"{since}T00:00:00Z",
        "until": f"{today + timedelta(days=1)}T00:00:00Z"})
    assert body == api.get_data()
    assert [r["contact"] for r in csv.DictReader(io.StringIO(body.decode()))] == ["cust-6"]
    responses = re.search(r'href="(/app/insights/responses\.csv\?[^"]+)"', html)
    assert responses and "queue" not in responses[1]  # an answer has no queue
    refused = client.get("/app/insights/cases.csv", query_string={"queue": "nope"})
    assert refused.status_code == 400 and "Queue must be one of the queues listed" in refused.get_data(as_text=True)


@pytest.mark.parametrize(("path", "params", "field"), [
    ("responses.csv", {"flow": "nope"}, "flow"),
    ("cases.csv", {"since": "yesterday"}, "since"),
    ("cases.csv", {"channel": "pigeon"}, "channel"),
])
def test_bad_export_filters_are_named_before_any_csv(client: FlaskClient, auth: dict, path: str, params: dict,
                                                      field: str) -> None:
    response = client.get(f"/api/v1/exports/{path}", query_string=params, headers=auth)
    assert response.status_code == 422
    assert [d["field"] for d in response.get_json()["error"]["details"]] == [field]


@pytest.mark.parametrize(("value", "shown"), [
    ("=1+1", "'=1+1"), ("+44 7911", "'+44 7911"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("fine", "fine"), ("a=b", "a=b"), (-2, -2), (None, None),
])
def test_formula_cells_are_quoted(value: object, shown: object) -> None:
    assert safe_cell(value) == shown


def test_cli_exports_the_same_csv(client: FlaskClient, auth: dict, surveys: None, database_url: str,
                                  cli: Callable) -> None:
    api = client.get("/api/v1/exports/responses.csv", query_string={"since": "2000-01-01T00:00:00Z"}, headers=auth)
    result = cli("export", "responses", "--since", "2000-01-01")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == api.get_data()  # byte for byte: RFC 4180 line ends included
    cases = cli("export", "cases", "--flow", "nps-test", "--channel", "sms")
    assert [r["contact"] for r in csv.DictReader(io.StringIO(cases.stdout))] == ["cust-1"]
    bad = cli("export", "cases", "--until", "soon")
    assert bad.exit_code == 2 and "--until" in bad.stderr
    assert cli("export", "responses", "--flow", "nope").exit_code == 2


@pytest.fixture
def cli(database_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Callable:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    env = {"TOUCHPOINT_LOG_LEVEL": "WARNING", "TOUCHPOINT_DATABASE_URL": database_url}
    return lambda *args: CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_the_cli_shows_a_progress_bar_on_a_terminal_only(two_queues: None, database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "TOUCHPOINT_LOG_LEVEL": "WARNING", "TOUCHPOINT_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "bot", "export", "cases"]
    controller, terminal = pty.openpty()
    try:
        shown = subprocess.run(command, stdout=subprocess.PIPE, stderr=terminal, env=env, cwd=tmp_path, check=True)
        os.close(terminal)
        bar = os.read(controller, 4096).decode()
    finally:
        os.close(controller)
    piped = subprocess.run(command, capture_output=True, env=env, cwd=tmp_path, check=True)
    assert "cases" in bar and "100%" in bar
    assert b"100%" not in piped.stderr
    assert shown.stdout == piped.stdout and len(list(csv.DictReader(io.StringIO(piped.stdout.decode())))) == 2
