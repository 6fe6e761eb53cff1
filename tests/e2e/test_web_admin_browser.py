"""The admin pages in a real browser against `touchpoint run`: an admin finds a customer, sees their consent (a
STOP on SMS: only the customer can opt in again), downloads everything held about them as JSON and erases them
after confirming; an agent gets 403 on every admin page. Without one script error or CSP violation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.browser import needs_chromium
from tests.e2e.processes import Server, cli
from tests.e2e.test_close_the_loop import answer
from tests.e2e.test_web_app_browser import new_user_page
from tests.e2e.test_web_cases_browser import survey
from tests.helpers import DETRACTORS_TO_RECOVERY, flow_yaml

pytestmark = needs_chromium

# Every admin page an agent might type in: the Admin list and each page on it, flows and contacts with their own.
ADMIN_PAGES = ("/app/admin", "/app/admin/users", "/app/admin/root-causes", "/app/admin/saved-replies",
               "/app/admin/themes", "/app/admin/api-keys", "/app/admin/webhooks", "/app/admin/settings",
               "/app/admin/audit", "/app/flows", "/app/flows/new", "/app/flows/web-nps", "/app/flows/web-nps/versions",
               "/app/contacts", "/app/contacts/1", "/app/contacts/1/erase")



def test_an_admin_finds_exports_and_erases_a_contact_and_an_agent_is_kept_out(server: Server, browser: Any) -> None:
    flow_file = server.cwd / "nps.yaml"
    flow_file.write_text(flow_yaml("web-nps", extra=DETRACTORS_TO_RECOVERY), encoding="utf-8")
    cli(server.env, "flows", "import", str(flow_file), cwd=server.cwd)
    ada = {"external_id": "ada", "name": "Ada Lovelace", "phone": "+447911123456"}
    survey(server, "order-1", ada)
    for text in ("2", "The parcel was late <script>alert(1)</script>", "STOP"):
        answer(server, ada["phone"], text)
    figures = server.api("GET", "/metrics").json()

    problems: list[str] = []
    page = new_user_page(browser, server, "root@example.com", "admin", problems)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    page.get_by_label("External id, name, phone or email").fill("+44 7911 123456")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="ada").click()
    assert page.get_by_role("heading", level=1).text_content() == "Ada Lovelace"
    sms = page.locator("tr", has=page.get_by_role("rowheader", name="sms"))
    assert "opted out" in sms.inner_text() and "The customer must text START to opt in again." in sms.inner_text()
    assert "The parcel was late <script>alert(1)</script>" in page.locator("table", has_text="NPS 2").inner_text()

    with page.expect_download() as downloaded:
        page.get_by_role("button", name="Export everything held (JSON)").click()
    held = json.loads(Path(downloaded.value.path()).read_text(encoding="utf-8"))
    assert held["tables"]["contact"][0]["name"] == "Ada Lovelace" and held["tables"]["response"]

    page.get_by_role("link", name="Erase this contact…").click()
    assert page.get_by_role("heading", level=1).text_content() == "Erase Ada Lovelace?"
    page.get_by_role("button", name="Erase ada now").click()
    assert "personal data is erased" in page.get_by_role("status").text_content()
    assert "Ada" not in page.get_by_role("main").inner_text()
    assert server.api("GET", "/metrics").json() == figures
    assert problems == []

    refused: list[str] = []
    agent = new_user_page(browser, server, "sam@example.com", "agent", refused)
    assert [link.text_content() for link in agent.get_by_role("navigation", name="Main").get_by_role("link").all()] \
        == ["Cases", "Queues", "Insights"]
    for path in ADMIN_PAGES:
        answered = agent.goto(server.url + path)
        assert answered is not None and answered.status == 403, path
        assert agent.get_by_role("heading", level=1).text_content() == "Admins only"
    assert [problem for problem in refused if "403" not in problem] == []  # the refusals, and nothing else
