"""The audit log: every change to users, keys, webhooks, flows and queues is recorded the same way from the pages,
the API and the CLI, and admins read it on /app/admin/audit and GET /api/v1/audit."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlmodel import select

from bot.audit import record
from bot.cli import main
from bot.runtime import Runtime
from storage.apikeys import create_api_key
from storage.models import AuditEntry, Role
from tests.helpers import flow_yaml
from tests.web_client import add_user, sign_in, submit, user_id

ADMIN, AGENT = "admin@example.com", "agent@example.com"
PAGE = "/app/admin/audit"


def entries(rt: Runtime) -> list[tuple[str, str, str, str]]:
    with rt.session() as session:
        rows = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()  # type: ignore[arg-type]
        return [(e.actor, e.kind, e.object_key, e.action) for e in rows]


def test_changes_from_pages_api_and_cli_are_audited_with_who_made_them(
        client: FlaskClient, rt: Runtime, auth: dict[str, str], database_url: str) -> None:
    from click.testing import CliRunner

    sign_in(client, ADMIN, add_user(rt, ADMIN, Role.ADMIN))
    submit(client, "/app/admin/users", "/app/admin/users", {"email": AGENT, "role": "agent"})
    agent = user_id(rt, AGENT)
    submit(client, "/app/admin/users", f"/app/admin/users/{agent}/disable", {})

    put = client.put("/api/v1/flows/checkout", data=flow_yaml("checkout"),
                     headers={**auth, "Content-Type": "application/yaml"})
    assert put.status_code == 201
    assert client.patch("/api/v1/queues/billing", json={"sla": "4h"}, headers=auth).status_code == 200
    hook = client.post("/api/v1/webhooks", json={"url": "https://93.184.215.14/in?token=s3cret",
                                                  "events": ["response.created"]}, headers=auth)
    assert hook.status_code == 201, hook.get_json()
    secret = hook.get_json()["secret"]
    result = CliRunner().invoke(main, ["apikey", "revoke", "tests"],
                                env={"TOUCHPOINT_DATABASE_URL": database_url, "TOUCHPOINT_LOG_LEVEL": "WARNING"})
    assert result.exit_code == 0, result.output

    assert entries(rt)[-6:] == [
        (ADMIN, "user", AGENT, "created"),
        (ADMIN, "user", AGENT, "disabled"),
        ("api key tests (#1)", "flow", "checkout", "saved"),
        ("api key tests (#1)", "queue", "billing", "updated"),
        ("api key tests (#1)", "webhook", str(hook.get_json()["id"]), "created"),
        ("cli", "api_key", "tests (#1)", "revoked"),
    ]
    html = client.get(PAGE).get_data(as_text=True)
    assert secret not in html and "s3cret" not in html  # no secret, and no token from a URL's query
    assert "url: https://93.184.215.14/in" in html


def test_the_log_is_newest_first_filtered_by_kind_and_paged(client: FlaskClient, rt: Runtime) -> None:
    sign_in(client, ADMIN, add_user(rt, ADMIN, Role.ADMIN))
    with rt.session() as session:
        for n in range(60):
            record(session, "cli", "flow" if n % 2 else "queue", f"<b>obj{n}</b>", "saved", note="<i>x</i>")
    first = client.get(PAGE + "?kind=flow").get_data(as_text=True)
    assert first.index("&lt;b&gt;obj59&lt;/b&gt;") < first.index("&lt;b&gt;obj57&lt;/b&gt;")
    assert "obj58" not in first and "<b>obj" not in first and "note: &lt;i&gt;x&lt;/i&gt;" in first
    assert "Older</a>" not in first  # 30 flows: one page
    everything = client.get(PAGE).get_data(as_text=True)
    assert "obj10<" in everything.replace("&lt;/b&gt;", "<")  # 50 a page
    assert "obj9<" not in everything.replace("&lt;/b&gt;", "<")
    older = everything.split('href="')[-1].split('">Older')[0].replace("&amp;", "&")
    assert "before=" in older
    second = client.get(older).get_data(as_text=True)
    assert "&lt;b&gt;obj0&lt;/b&gt;" in second and "&lt;b&gt;obj59&lt;/b&gt;" not in second
    bad = client.get(PAGE + "?kind=nonsense")
    assert bad.status_code == 422 and "Show must be one of the kinds listed" in bad.get_data(as_text=True)


def test_agents_and_keys_without_admin_cannot_read_the_log(client: FlaskClient, rt: Runtime) -> None:
    sign_in(client, AGENT, add_user(rt, AGENT))
    assert client.get(PAGE).status_code == 403
    with rt.session() as session:
        reader = create_api_key(session, "reader", ["read"])
        admin = create_api_key(session, "admin")
    assert client.get("/api/v1/audit", headers={"Authorization": f"Bearer {reader}"}).status_code == 403
    with rt.session() as session:
        record(session, "cli", "settings", "retain_text_days", "updated", value=30)
    body = client.get("/api/v1/audit?kind=settings", headers={"Authorization": f"Bearer {admin}"}).get_json()
    items = [(i["actor"], i["object"], i["detail"]) for i in body["items"]]
    assert items == [("cli", "retain_text_days", {"value": 30})]
    assert body["next_before"] is None
    wrong = client.get("/api/v1/audit?limit=0", headers={"Authorization": f"Bearer {admin}"})
    assert wrong.status_code == 422 and wrong.get_json()["error"]["details"][0]["field"] == "limit"
