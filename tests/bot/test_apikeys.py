"""API keys: listed without the key, revoked from the CLI or the API, refused at once by every process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from flask.testing import FlaskClient

from bot.app import create_app
from bot.cli import main
from bot.runtime import Runtime
from bot.settings import Settings
from storage.apikeys import create_api_key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def other_client(settings: Settings) -> Iterator[FlaskClient]:
    """A second app on the same database: another web process."""
    app = create_app(settings)
    yield app.test_client()
    app.extensions["touchpoint"].close()


@pytest.fixture
def touchpoint(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> Result:
        env = {"TOUCHPOINT_DATABASE_URL": database_url, "TOUCHPOINT_LOG_LEVEL": "WARNING"}
        return CliRunner().invoke(main, list(args), env=env)

    return invoke


def new_key(rt: Runtime, name: str) -> str:
    with rt.session() as session:
        return create_api_key(session, name)


def key_id(client: FlaskClient, auth: dict[str, str], name: str) -> int:
    [found] = [k["id"] for k in client.get("/api/v1/apikeys", headers=auth).get_json()["items"] if k["name"] == name]
    return found


def test_a_key_revoked_through_one_process_is_refused_at_once_by_another(
    client: FlaskClient, other_client: FlaskClient, rt: Runtime, auth: dict[str, str]
) -> None:
    backend = new_key(rt, "backend")
    assert other_client.get("/api/v1/flows", headers=bearer(backend)).status_code == 200

    assert client.delete(f"/api/v1/apikeys/{key_id(client, auth, 'backend')}", headers=auth).status_code == 204

    refused = other_client.get("/api/v1/flows", headers=bearer(backend))
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthorized"
    assert other_client.get("/api/v1/flows", headers=auth).status_code == 200


def test_a_key_revoked_in_the_database_is_refused_at_once(client: FlaskClient, rt: Runtime) -> None:
    backend = new_key(rt, "backend")
    assert client.get("/api/v1/flows", headers=bearer(backend)).status_code == 200
    with rt.engine.begin() as conn:
        conn.execute(sa.text("UPDATE apikey SET revoked_at = created_at WHERE name = 'backend'"))
    assert client.get("/api/v1/flows", headers=bearer(backend)).status_code == 401


def test_the_cli_lists_keys_without_them_and_revokes_by_name(
    touchpoint, client: FlaskClient, other_client: FlaskClient
) -> None:
    key = touchpoint("apikey", "create", "backend").stdout.strip()
    assert other_client.get("/api/v1/flows", headers=bearer(key)).status_code == 200

    listed = touchpoint("apikey", "list")
    assert listed.exit_code == 0
    [row] = [line for line in listed.stdout.splitlines() if "backend" in line]
    assert row.rstrip().endswith("-")  # not revoked
    assert key not in listed.stdout and key.removeprefix("tp_")[:8] not in listed.stdout

    revoked = touchpoint("apikey", "revoke", "backend")
    assert revoked.exit_code == 0 and "revoked" in revoked.output

    assert client.get("/api/v1/flows", headers=bearer(key)).status_code == 401
    assert other_client.get("/api/v1/flows", headers=bearer(key)).status_code == 401
    [row] = [line for line in touchpoint("apikey", "list").stdout.splitlines() if "backend" in line]
    assert not row.rstrip().endswith("-")


def test_the_cli_revokes_by_id_and_asks_for_the_id_when_a_name_is_shared(touchpoint, client: FlaskClient) -> None:
    first = touchpoint("apikey", "create", "ci").stdout.strip()
    second = touchpoint("apikey", "create", "ci").stdout.strip()

    ambiguous = touchpoint("apikey", "revoke", "ci")
    assert ambiguous.exit_code == 1 and "give the id" in ambiguous.output
    unknown = touchpoint("apikey", "revoke", "nobody")
    assert unknown.exit_code == 1 and "no API key" in unknown.output

    ids = [line.split()[0] for line in touchpoint("apikey", "list").stdout.splitlines()[1:] if " ci " in line]
    assert touchpoint("apikey", "revoke", ids[0]).exit_code == 0
    assert client.get("/api/v1/flows", headers=bearer(first)).status_code == 401
    assert client.get("/api/v1/flows", headers=bearer(second)).status_code == 200


def test_the_api_lists_keys_without_the_key_or_its_digest(client: FlaskClient, rt: Runtime, api_key: str) -> None:
    response = client.get("/api/v1/apikeys", headers=bearer(api_key))
    assert response.status_code == 200
    [item] = response.get_json()["items"]
    assert set(item) == {"id", "name", "scopes", "created_at", "last_used_at", "revoked_at"}
    assert item["name"] == "tests" and item["revoked_at"] is None and item["last_used_at"] is not None
    with rt.engine.connect() as conn:
        digest = conn.execute(sa.text("SELECT key_hash FROM apikey")).scalar_one()
    assert api_key not in response.text and digest not in response.text


def test_a_key_may_revoke_itself(client: FlaskClient, auth: dict[str, str]) -> None:
    own = key_id(client, auth, "tests")
    assert client.delete(f"/api/v1/apikeys/{own}", headers=auth).status_code == 204
    assert client.get("/api/v1/apikeys", headers=auth).status_code == 401


def test_revoking_twice_is_the_same_and_an_unknown_key_is_404(client: FlaskClient, rt: Runtime,
                                                               auth: dict[str, str]) -> None:
    new_key(rt, "old")
    old = key_id(client, auth, "old")
    assert client.delete(f"/api/v1/apikeys/{old}", headers=auth).status_code == 204
    first = client.get("/api/v1/apikeys", headers=auth).get_json()["items"]
    assert client.delete(f"/api/v1/apikeys/{old}", headers=auth).status_code == 204
    assert client.get("/api/v1/apikeys", headers=auth).get_json()["items"] == first
    for unknown in (old + 100, 2**31, 99999999999):
        missing = client.delete(f"/api/v1/apikeys/{unknown}", headers=auth)
        assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
