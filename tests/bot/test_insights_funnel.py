"""The survey funnel and the CSV exports, over surveys that went through the whole bot: events in, sends by the
worker, replies on the sandbox, cases opened by routing."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from bot.insights import FORMULA_STARTS, safe_cell
from bot.runtime import Runtime
from tests.helpers import DETRACTORS_TO_RECOVERY, event, flow_yaml, install_flow, tick

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


def test_funnel_counts_each_step_and_why_surveys_dropped(client: FlaskClient, auth: dict, surveys: None) -> None:
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


def test_cases_csv_reads_back_as_the_api_shows_them(client: FlaskClient, auth: dict, surveys: None) -> None:
    [row] = read_csv(client, auth, "cases.csv")
    [item] = client.get("/api/v1/followups", headers=auth).get_json()["items"]
    assert row == {
        "id": str(item["id"]), "queue": "recovery", "status": item["status"], "priority": "high",
        "assignee": "", "opened_at": item["created_at"], "due_at": item["due_at"], "resolved_at": "",
        "score": "2", "band": "detractor", "flow": "nps-test", "channel": "sms", "contact": "cust-1",
        "reason": item["reason"] or "",
    }


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
