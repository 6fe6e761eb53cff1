"""Every admin page refuses agents: each route of the web app outside the agents' own areas answers an agent
403, for reading and for changing (with a valid CSRF token), so an admin page added later is covered without
being listed here. An admin reaches every admin list from the Admin page, and each list names itself in the
admin pages' navigation."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.runtime import Runtime
from storage.models import Role
from tests.web_client import add_user, csrf_token, sign_in

ADMIN, AGENT = "admin@example.com", "agent@example.com"
# What an agent works in; every other page under /app is an admin's.
AGENT_AREAS = ("home.home", "auth.", "account.", "cases.", "queues.", "insights.")
ADMIN_LISTS = ["/app/admin/users", "/app/admin/root-causes", "/app/admin/saved-replies", "/app/admin/themes",
               "/app/admin/api-keys", "/app/admin/webhooks", "/app/admin/settings", "/app/admin/audit"]


def admin_routes(app: Flask) -> list[tuple[str, str]]:
    """(method, path) of every admin route, its arguments filled with a made-up id or key."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/app") or rule.endpoint.startswith(AGENT_AREAS):
            continue
        path = re.sub(r"<int[^>]*>", "1", rule.rule)
        path = re.sub(r"<[^>]+>", "sms", path)
        found += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_an_agent_gets_403_on_every_admin_route(client: FlaskClient, rt: Runtime, app: Flask) -> None:
    sign_in(client, AGENT, add_user(rt, AGENT))
    token = csrf_token(client, "/app/cases")
    routes = admin_routes(app)
    paths = {path for _, path in routes}
    assert {"/app/admin", "/app/flows", "/app/flows/new", "/app/contacts", *ADMIN_LISTS} <= paths
    for method, path in routes:
        answer = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
        assert answer.status_code == 403, (method, path)
        assert "<h1>Admins only</h1>" in answer.get_data(as_text=True), (method, path)


def test_the_admin_page_leads_to_every_admin_list(client: FlaskClient, rt: Runtime) -> None:
    sign_in(client, ADMIN, add_user(rt, ADMIN, Role.ADMIN))
    hub = client.get("/app/admin").get_data(as_text=True)
    assert "<h1>Admin</h1>" in hub and 'aria-label="Admin"' not in hub  # the list itself, not its navigation
    assert re.findall(r'<li><a href="(/app/admin/[a-z-]+)">', hub) == ADMIN_LISTS
    for path in ADMIN_LISTS:
        page = client.get(path)
        html = page.get_data(as_text=True)
        assert page.status_code == 200, path
        assert '<a href="/app/admin" aria-current="page">Admin</a>' in html, path
        admin_nav = html.split('<nav aria-label="Admin" class="subnav">', 1)[1].split("</nav>", 1)[0]
        assert re.findall(r'<a href="([^"]+)" aria-current="page">', admin_nav) == [path]


@pytest.mark.parametrize("path", ["/app/cases", "/app/queues", "/app/insights", "/app/account"])
def test_an_agents_pages_have_no_admin_navigation(client: FlaskClient, rt: Runtime, path: str) -> None:
    sign_in(client, AGENT, add_user(rt, AGENT))
    html = client.get(path).get_data(as_text=True)
    assert 'aria-label="Admin"' not in html and "/app/admin" not in html
