"""Backup and restore of the SQLite database, as an operator runs them: the restore drill."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from bot.app import create_app
from bot.cli import main
from storage.apikeys import create_api_key
from tests.conftest import make_settings
from tests.helpers import event, flow_yaml

YAML = {"Content-Type": "application/yaml"}


def touchpoint(url: str, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin, env={"TOUCHPOINT_DATABASE_URL": url})


def test_backup_while_running_then_restore_serves_the_backups_data(sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "touchpoint.db"
    path.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{path}"
    app = create_app(make_settings(url))
    client = app.test_client()
    with app.extensions["touchpoint"].session() as session:
        auth = {"Authorization": f"Bearer {create_api_key(session, 'drill')}"}
    assert client.put("/api/v1/flows/nps-test", data=flow_yaml(), headers={**auth, **YAML}).status_code == 201
    kept = client.post("/api/v1/events", json=event("evt-1"), headers=auth).get_json()["deliveries"][0]["id"]

    backed_up = touchpoint(url, "db", "backup", str(tmp_path / "backup.db"))  # the app is still open
    assert backed_up.exit_code == 0 and "backed up to" in backed_up.stdout

    assert client.put("/api/v1/flows/later", data=flow_yaml("later"), headers={**auth, **YAML}).status_code == 201
    lost = client.post("/api/v1/events", json=event("evt-2"), headers=auth).get_json()["deliveries"][0]["id"]
    app.extensions["touchpoint"].close()

    restored = touchpoint(url, "db", "restore", str(tmp_path / "backup.db"), stdin="y\n")
    assert restored.exit_code == 0, restored.output

    app = create_app(make_settings(url))
    client = app.test_client()
    assert [f["key"] for f in client.get("/api/v1/flows", headers=auth).get_json()["items"]] == ["nps-test"]
    assert client.get(f"/api/v1/deliveries/{kept}", headers=auth).status_code == 200
    assert client.get(f"/api/v1/deliveries/{lost}", headers=auth).status_code == 404
    app.extensions["touchpoint"].close()


def test_backup_refuses_to_overwrite_and_restore_refuses_what_is_not_a_database(
    sqlite_template: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{sqlite_template}"
    existing = tmp_path / "existing.db"
    existing.write_bytes(b"keep me")
    refused = touchpoint(url, "db", "backup", str(existing))
    assert refused.exit_code == 1 and "already exists" in refused.stderr
    assert existing.read_bytes() == b"keep me"

    copy = tmp_path / "live.db"
    copy.write_bytes(sqlite_template.read_bytes())
    not_db = touchpoint(f"sqlite:///{copy}", "db", "restore", str(existing), "--yes")
    assert not_db.exit_code == 1 and "Error:" in not_db.stderr
    assert copy.read_bytes() == sqlite_template.read_bytes()


def test_postgresql_is_pointed_to_pg_dump(pg_server_url: str, tmp_path: Path) -> None:
    result = touchpoint(pg_server_url, "db", "backup", str(tmp_path / "backup.db"))
    assert result.exit_code == 1 and "use pg_dump for PostgreSQL" in result.stderr
    assert not (tmp_path / "backup.db").exists()
