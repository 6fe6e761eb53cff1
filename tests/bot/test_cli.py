"""The `touchpoint` command as an admin uses it: flows in and out, API keys, users, the demo."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from flask.testing import FlaskClient

from bot.cli import main
from storage.migrate import current_head, current_revision, upgrade
from tests.conftest import empty_pg_database
from tests.helpers import flow_yaml
from tests.web_client import alert, sign_in


def cli(env: dict[str, str | None], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"TOUCHPOINT_LOG_LEVEL": "WARNING", **env}, catch_exceptions=False)


@pytest.fixture
def touchpoint(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    env: dict[str, str | None] = {"TOUCHPOINT_DATABASE_URL": database_url, "TOUCHPOINT_PUBLIC_URL": "http://touchpoint.test"}
    return lambda *args: cli(env, *args)


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
    assert result.exit_code == 0 and result.stdout == "good: version 1\n"
    assert touchpoint("flows", "import", good).stdout == "good: unchanged (version 1)\n"

    out = tmp_path / "exported"
    assert touchpoint("flows", "export", "--out", str(out)).exit_code == 0
    assert touchpoint("flows", "validate", str(out / "good.yaml")).output == "ok  good\n"


def test_unreadable_file_is_a_clear_error(touchpoint, tmp_path: Path) -> None:
    result = touchpoint("flows", "validate", str(tmp_path / "missing.yaml"))
    assert result.exit_code == 1 and "missing.yaml: cannot read" in result.output


def test_an_api_key_is_printed_once_and_works(touchpoint, client: FlaskClient) -> None:
    key = touchpoint("apikey", "create", "backend").stdout.strip()
    assert key.startswith("tp_")
    assert client.get("/api/v1/flows", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_users_are_created_once(touchpoint) -> None:
    first = touchpoint("users", "create", "Agent@Example.com", "--role", "agent")
    assert first.exit_code == 0 and first.stdout.startswith("created agent agent@example.com; password: ")
    assert "Sign in at http://touchpoint.test/login and choose your own password." in first.stderr
    again = touchpoint("users", "create", "agent@example.com", "--role", "admin")
    assert again.exit_code == 1 and "a user with email agent@example.com already exists" in again.stderr


def printed_password(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout.strip().rsplit("password: ", 1)[1]


def test_a_created_user_signs_in_with_the_printed_password_and_must_change_it(touchpoint, client: FlaskClient) -> None:
    password = printed_password(touchpoint("users", "create", "agent@example.com", "--role", "agent"))
    assert sign_in(client, "agent@example.com", password).headers["Location"] == "/app/account/password"


def test_users_are_listed_disabled_enabled_and_reset(touchpoint, client: FlaskClient) -> None:
    admin = printed_password(touchpoint("users", "create", "admin@example.com", "--role", "admin"))
    agent = printed_password(touchpoint("users", "create", "agent@example.com", "--role", "agent"))
    sign_in(client, "admin@example.com", admin)

    listed = touchpoint("users", "list")
    assert listed.exit_code == 0
    header, admin_line, agent_line = listed.stdout.splitlines()
    assert header == "email              role   state              last sign-in (UTC)"
    assert re.fullmatch(r"admin@example.com  admin  one-time password  \d{4}-\d\d-\d\d \d\d:\d\d", admin_line)
    assert agent_line == "agent@example.com  agent  one-time password  never"
    assert agent not in listed.output and admin not in listed.output

    disabled = touchpoint("users", "disable", "Agent@example.com")
    assert (disabled.exit_code, disabled.stdout) == (0, "disabled agent@example.com; their sessions have ended\n")
    assert "agent@example.com  agent  disabled" in touchpoint("users", "list").stdout
    assert alert(sign_in(client.application.test_client(), "agent@example.com", agent)) == (
        "This account is disabled. Ask an admin to enable it.")
    assert touchpoint("users", "enable", "agent@example.com").stdout == "enabled agent@example.com\n"

    assert client.get("/app/account/password").status_code == 200
    reset = touchpoint("users", "reset-password", "admin@example.com")
    new = printed_password(reset)
    assert reset.stdout.startswith("reset admin@example.com; password: ") and new != admin
    assert client.get("/app/account/password").status_code == 303  # the admin's session ended
    assert alert(sign_in(client, "admin@example.com", admin)) == "Wrong email or password."
    assert sign_in(client, "admin@example.com", new).headers["Location"] == "/app/account/password"


def test_user_commands_say_clearly_what_is_wrong(touchpoint) -> None:
    cases = {
        ("users", "disable", "nobody@example.com"): "Error: user nobody@example.com does not exist",
        ("users", "enable", "nobody@example.com"): "Error: user nobody@example.com does not exist",
        ("users", "reset-password", "nobody@example.com"): "Error: user nobody@example.com does not exist",
        ("users", "create", "not-an-email", "--role", "agent"): "Error: EMAIL 'not-an-email' is not an email address",
        ("users", "disable", "nul\x00@example.com"): "Error: EMAIL 'nul\\x00@example.com' must not contain NUL "
                                                      "characters",
    }
    for args, message in cases.items():
        result = touchpoint(*args)
        assert (result.exit_code, result.stdout) == (1, ""), args
        assert result.stderr.splitlines()[-1] == message
    wrong_role = touchpoint("users", "create", "a@example.com", "--role", "owner")
    assert wrong_role.exit_code == 2 and "'owner' is not one of 'admin', 'agent'" in wrong_role.stderr


def test_the_last_enabled_admin_cannot_be_disabled(touchpoint) -> None:
    printed_password(touchpoint("users", "create", "admin@example.com", "--role", "admin"))
    refused = touchpoint("users", "disable", "admin@example.com")
    assert refused.exit_code == 1
    assert refused.stderr.splitlines()[-1] == (
        "Error: admin@example.com is the only enabled admin; make another admin first")
    printed_password(touchpoint("users", "create", "second@example.com", "--role", "admin"))
    assert touchpoint("users", "disable", "admin@example.com").exit_code == 0


def test_demo_loads_flows_and_surveys(touchpoint, client: FlaskClient, auth: dict) -> None:
    result = touchpoint("demo")
    assert result.exit_code == 0 and "/sandbox" in result.output
    flows = client.get("/api/v1/flows", headers=auth).get_json()["items"]
    assert len(flows) >= 3


def test_demo_users_sign_in_at_once_with_their_printed_passwords(touchpoint, client: FlaskClient) -> None:
    lines = touchpoint("demo").stdout.splitlines()
    users = dict(line.removeprefix("web app: ").split(", password ") for line in lines if ", password " in line)
    assert set(users) == {"agent agent@demo.example.com", "admin admin@demo.example.com"}
    assert "Sign in to the web app at http://touchpoint.test/login" in lines
    assert sign_in(client, "agent@demo.example.com", users["agent agent@demo.example.com"]).headers[
        "Location"] == "/app"
    assert client.get("/app/cases").status_code == 200

    again = touchpoint("demo").stdout
    assert ", password " not in again
    assert ("web app: admin admin@demo.example.com already there (`touchpoint users reset-password "
            "admin@demo.example.com` prints a new password)") in again


def test_db_upgrade_reports_the_head(touchpoint) -> None:
    result = touchpoint("db", "upgrade")
    assert result.exit_code == 0


# --- which database, and its tables ------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database without tables: a SQLite file not created yet (nor its folder), or an empty PostgreSQL one."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'new' / 'touchpoint.db'}"
        return
    with empty_pg_database() as url:
        yield url


TABLE_COMMANDS = {
    "demo": ("demo",),
    "apikey create": ("apikey", "create", "backend"),
    "users create": ("users", "create", "agent@example.com", "--role", "agent"),
    "users list": ("users", "list"),
    "sites create": ("sites", "create", "shop", "--origin", "https://shop.example.com"),
    "sites list": ("sites", "list"),
    "flows import": ("flows", "import", "flow.yaml"),
    "flows export": ("flows", "export"),
}


@pytest.mark.parametrize("command", list(TABLE_COMMANDS))
def test_on_a_database_without_tables_sqlite_upgrades_itself_and_postgresql_says_what_to_do(
        blank_database: str, command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "flow.yaml", flow_yaml("blank"))
    result = cli({"TOUCHPOINT_DATABASE_URL": blank_database}, *TABLE_COMMANDS[command])
    if blank_database.startswith("sqlite"):
        assert result.exit_code == 0, result.output
        assert current_revision(blank_database) == current_head()
    else:
        assert result.exit_code == 1
        assert result.stderr.endswith("Error: the database has no tables yet. Run `touchpoint db upgrade` first.\n")
        assert "Traceback" not in result.output and result.stdout == ""
        assert current_revision(blank_database) is None


def test_a_database_at_an_older_revision_is_upgraded_on_sqlite_or_named_on_postgresql(
        blank_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    upgrade(blank_database, "0001")
    env: dict[str, str | None] = {"TOUCHPOINT_DATABASE_URL": blank_database}
    listed = cli(env, "sites", "list")
    if blank_database.startswith("postgresql"):
        assert listed.exit_code == 1
        assert f"the database is at revision 0001; this release needs {current_head()}" in listed.stderr
        assert "Run `touchpoint db upgrade` first." in listed.stderr
        assert cli(env, "db", "upgrade").exit_code == 0
        listed = cli(env, "sites", "list")
    assert listed.exit_code == 0, listed.output
    assert current_revision(blank_database) == current_head()


def test_the_default_database_is_one_place_whatever_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    env: dict[str, str | None] = {"TOUCHPOINT_DATABASE_URL": None, "XDG_DATA_HOME": str(data)}
    expected = f"database: sqlite:///{data / 'touchpoint' / 'touchpoint.db'}\n"
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
    monkeypatch.chdir(tmp_path / "one")
    created = cli(env, "sites", "create", "shop", "--origin", "https://shop.example.com")
    assert created.exit_code == 0 and created.stderr == expected
    monkeypatch.chdir(tmp_path / "two")
    listed = cli(env, "sites", "list")
    assert listed.exit_code == 0 and listed.stderr == expected
    assert listed.stdout.startswith("shop  pk_")
    assert not list(tmp_path.glob("*/*.db"))


def test_without_xdg_data_home_the_default_database_is_under_the_home_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    result = cli({"TOUCHPOINT_DATABASE_URL": None, "XDG_DATA_HOME": None, "HOME": str(home)}, "db", "upgrade")
    path = home / ".local" / "share" / "touchpoint" / "touchpoint.db"
    assert result.exit_code == 0 and result.stderr == f"database: sqlite:///{path}\n"
    assert current_revision(f"sqlite:///{path}") == current_head()


def test_the_database_is_named_on_stderr_with_its_password_masked_and_stdout_stays_pipeable(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = database_url.replace("postgres@", "postgres:s3cret@")  # trust authentication ignores it
    env: dict[str, str | None] = {"TOUCHPOINT_DATABASE_URL": url}
    key = cli(env, "apikey", "create", "backend")
    assert key.exit_code == 0 and key.stdout.count("\n") == 1 and key.stdout.startswith("tp_")
    shown = database_url.replace("postgres@", "postgres:***@")
    assert key.stderr == f"database: {shown}\nscopes: admin\n" and "s3cret" not in key.output
    assert cli(env, "flows", "import", write(tmp_path / "flow.yaml", flow_yaml("piped"))).exit_code == 0
    exported = cli(env, "flows", "export")
    assert [doc["key"] for doc in yaml.safe_load_all(exported.stdout)] == ["piped"]


def test_root_causes_are_added_listed_and_removed(touchpoint) -> None:
    assert touchpoint("root-causes", "add", "Courier damage").stdout == "added root cause: Courier damage\n"
    touchpoint("root-causes", "add", "Billing error")
    taken = touchpoint("root-causes", "add", "courier DAMAGE")
    assert taken.exit_code == 1 and "root cause 'courier DAMAGE' exists already" in taken.output
    empty = touchpoint("root-causes", "add", "  ")
    assert empty.exit_code == 1 and "name: must not be empty" in empty.output
    assert touchpoint("root-causes", "list").stdout == "Billing error\nCourier damage\n"
    assert touchpoint("root-causes", "remove", "billing ERROR").stdout == "removed root cause: Billing error\n"
    missing = touchpoint("root-causes", "remove", "Weather")
    assert missing.exit_code == 1 and "root cause 'Weather' does not exist" in missing.output


def test_saved_replies_are_saved_from_text_or_a_file_and_a_bad_placeholder_names_the_file(
    touchpoint, tmp_path: Path
) -> None:
    saved = touchpoint("saved-replies", "add", "Apology", "--text", "Hi {{ contact.first_name }}, sorry.")
    assert saved.stdout == "saved reply: Apology\n"
    bad = write(tmp_path / "late.txt", "Hi {{ contact.first_name }},\n{% if score %}sorry{% endfi %}\n")
    refused = touchpoint("saved-replies", "add", "Late", "--file", bad)
    assert refused.exit_code == 1
    assert f"{bad}: template error:" in refused.output and "(template line 2)" in refused.output
    good = write(tmp_path / "late.txt", "Hi {{ contact.first_name }},\nsorry it came late.\n")
    assert touchpoint("saved-replies", "add", "Late", "--file", good).stdout == "saved reply: Late\n"
    again = touchpoint("saved-replies", "add", "late", "--text", "x")
    assert again.exit_code == 1 and "saved reply 'late' exists already" in again.output
    assert touchpoint("saved-replies", "add", "late", "--text", "x", "--replace").stdout == "replaced reply: Late\n"
    listed = touchpoint("saved-replies", "list").stdout
    assert listed == "Apology\n    Hi {{ contact.first_name }}, sorry.\nLate\n    x\n"
    assert touchpoint("saved-replies", "remove", "LATE").stdout == "removed reply: Late\n"
