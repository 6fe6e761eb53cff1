"""The `touchpoint` command as an admin uses it: flows in and out, API keys, users, the demo."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient

from bot.cli import main
from tests.helpers import flow_yaml


@pytest.fixture
def touchpoint(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> Result:
        env = {"TOUCHPOINT_DATABASE_URL": database_url, "TOUCHPOINT_LOG_LEVEL": "WARNING"}
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return invoke


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_validate_names_file_line_field_and_reason_for_every_problem(touchpoint, tmp_path: Path) -> None:
    good = write(tmp_path / "good.yaml", flow_yaml("good"))
    bad = write(tmp_path / "bad.yaml", flow_yaml("bad").replace("delay: 0s", "delay: soon").replace(
        "kind: nps", "kind: stars"))
    result = touchpoint("flows", "validate", good, bad)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert any(line.startswith(f"{bad}:5: delay:") and "'soon' is not a duration" in line for line in lines)
    assert any(line.startswith(f"{bad}:8: question.kind:") for line in lines)
    assert not any(good in line for line in lines)


def test_import_is_all_or_nothing_and_export_reads_back(touchpoint, client: FlaskClient, auth: dict,
                                                       tmp_path: Path) -> None:
    good = write(tmp_path / "good.yaml", flow_yaml("good"))
    broken = write(tmp_path / "broken.yaml", flow_yaml("broken").replace("channels: [sms, email]", "channels: []"))
    assert touchpoint("flows", "import", good, broken).exit_code == 1
    assert client.get("/api/v1/flows", headers=auth).get_json()["items"] == []

    result = touchpoint("flows", "import", good)
    assert result.exit_code == 0 and result.output == "good: version 1\n"
    assert touchpoint("flows", "import", good).output == "good: unchanged (version 1)\n"

    out = tmp_path / "exported"
    assert touchpoint("flows", "export", "--out", str(out)).exit_code == 0
    assert touchpoint("flows", "validate", str(out / "good.yaml")).output == "ok  good\n"


def test_unreadable_file_is_a_clear_error(touchpoint, tmp_path: Path) -> None:
    result = touchpoint("flows", "validate", str(tmp_path / "missing.yaml"))
    assert result.exit_code == 1 and "missing.yaml: cannot read" in result.output


def test_an_api_key_is_printed_once_and_works(touchpoint, client: FlaskClient) -> None:
    key = touchpoint("apikey", "create", "backend").output.strip()
    assert key.startswith("tp_")
    assert client.get("/api/v1/flows", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_users_are_created_once(touchpoint) -> None:
    first = touchpoint("users", "create", "Agent@Example.com", "--role", "agent")
    assert first.exit_code == 0 and first.output.startswith("created agent agent@example.com; password: ")
    again = touchpoint("users", "create", "agent@example.com", "--role", "admin")
    assert again.exit_code == 1 and "already exists" in again.output


def test_demo_loads_flows_and_surveys(touchpoint, client: FlaskClient, auth: dict) -> None:
    result = touchpoint("demo")
    assert result.exit_code == 0 and "/sandbox" in result.output
    flows = client.get("/api/v1/flows", headers=auth).get_json()["items"]
    assert len(flows) >= 3


def test_db_upgrade_reports_the_head(touchpoint) -> None:
    result = touchpoint("db", "upgrade")
    assert result.exit_code == 0
