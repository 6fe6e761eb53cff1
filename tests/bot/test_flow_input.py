"""Flows that would exhaust memory or overflow later are refused at the door: a clear 422 from the API and an
error naming file and line from `touchpoint flows import`, never a hang or a 500."""

from __future__ import annotations

import json
from pathlib import Path

from flask.testing import FlaskClient

from tests.bot.test_api_errors import fields_of
from tests.bot.test_cli import touchpoint, write  # noqa: F401 (a fixture)
from tests.flows.test_flow_limits import BOMB
from tests.helpers import flow_yaml

YAML = {"Content-Type": "application/yaml"}


def test_an_alias_bomb_put_as_yaml_is_422_naming_its_line(client: FlaskClient, auth: dict) -> None:
    response = client.put("/api/v1/flows/nps", data=BOMB, headers={**auth, **YAML})
    assert response.status_code == 422
    [detail] = response.get_json()["error"]["details"]
    assert detail["message"].startswith("line 3: ") and "aliases (*name) are not allowed" in detail["message"]
    assert client.get("/api/v1/flows", headers=auth).get_json()["items"] == []


def test_an_absurd_duration_is_422_as_yaml_and_as_json(client: FlaskClient, auth: dict) -> None:
    text = flow_yaml("nps").replace("delay: 0s", "delay: 99999999999d")
    as_yaml = client.put("/api/v1/flows/nps", data=text, headers={**auth, **YAML})
    assert as_yaml.status_code == 422 and fields_of(as_yaml.get_json()) == ["delay"]
    body = {"key": "nps", "name": "NPS", "trigger": {"event": "order.delivered"}, "channels": ["sms"],
            "question": {"kind": "nps", "text": {"en": "How likely? 0-10"}}, "throttle": "99999999999d"}
    as_json = client.put("/api/v1/flows/nps", data=json.dumps(body), headers={**auth,
                                                                          "Content-Type": "application/json"})
    assert as_json.status_code == 422 and fields_of(as_json.get_json()) == ["throttle"]
    assert "at most 365d" in as_json.get_json()["error"]["details"][0]["message"]


def test_flows_import_refuses_an_alias_bomb_and_deep_nesting(touchpoint, tmp_path: Path) -> None:  # noqa: F811
    bomb = write(tmp_path / "bomb.yaml", BOMB)
    deep = write(tmp_path / "deep.yaml", flow_yaml("deep") + "extra: " + "[" * 5000 + "]" * 5000 + "\n")
    result = touchpoint("flows", "import", bomb, deep)
    assert result.exit_code == 1
    assert f"{bomb}:3: YAML syntax error: aliases (*name) are not allowed" in result.stderr
    assert f"{deep}:" in result.stderr and "nested more than 32 levels deep" in result.stderr
    assert touchpoint("flows", "export").stdout == ""
