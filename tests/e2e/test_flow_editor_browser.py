"""The flow editor in a real browser against `touchpoint run`: an admin breaks a flow and sees the problem at its
line, fixes it, watches the SMS preview's segment count follow the text, saves, sends themself a test, answers it
in the sandbox (the metrics do not move) and rolls back to the previous version; an agent is refused. Without one
script error or Content-Security-Policy violation."""

from __future__ import annotations

import os
from typing import Any

from tests.e2e.browser import needs_chromium
from tests.e2e.processes import Server, cli
from tests.e2e.test_web_app_browser import new_user_page
from tests.e2e.test_web_cases_browser import DOCS_SCREENSHOTS, survey
from tests.helpers import flow_yaml

pytestmark = needs_chromium

KEY = "web-nps"
TEST_PHONE = "+447911000777"



def test_an_admin_edits_previews_tests_and_rolls_back_a_flow(server: Server, browser: Any) -> None:
    screenshots = DOCS_SCREENSHOTS if os.environ.get("TOUCHPOINT_SCREENSHOTS") == "1" else server.cwd
    flow_file = server.cwd / "nps.yaml"
    flow_file.write_text(flow_yaml(KEY), encoding="utf-8")
    cli(server.env, "flows", "import", str(flow_file), cwd=server.cwd)
    survey(server, "order-1", {"external_id": "ada", "name": "Ada Lovelace", "phone": "+447911123456"})
    problems: list[str] = []
    page = new_user_page(browser, server, "admin@example.com", "admin", problems)
    page.on("dialog", lambda dialog: dialog.accept())

    page.get_by_role("link", name="Flows").click()
    page.wait_for_url(server.url + "/app/flows")
    row = page.locator("table.flows tbody tr", has_text=KEY)
    assert "enabled" in row.inner_text() and "sms, email" in row.inner_text()
    row.get_by_role("link", name=f"Test flow {KEY}").click()
    page.wait_for_url(f"{server.url}/app/flows/{KEY}")

    editor = page.get_by_label("Flow (YAML)")
    original = editor.input_value()
    kind_line = original.splitlines().index("  kind: nps") + 1
    editor.fill(original.replace("kind: nps", "kind: nps3"))
    page.locator("#preview-problem").get_by_text("The preview shows once the flow has no problems:").wait_for()
    page.get_by_role("button", name="Save new version").click()
    alert = page.get_by_role("alert")
    assert f"Line {kind_line}, question.kind: must be one of nps, csat, ces, thumbs" in alert.inner_text()
    assert f"{kind_line}   kind: nps3" in alert.locator("pre.quote").inner_text()
    alert.get_by_role("link", name=f"Line {kind_line}").click()
    assert page.evaluate("document.activeElement.id") == "yaml"
    assert page.locator("#caret").inner_text() == f"Line {kind_line}, column 1"
    assert page.evaluate("(() => { const t = document.getElementById('yaml');"
                         " return t.value.slice(t.selectionStart, t.selectionEnd); })()") == "  kind: nps3"

    sms_count = page.locator("#sms-count")
    editor.fill(original)
    sms_count.get_by_text("1 segment", exact=True).wait_for()
    assert page.get_by_role("alert").count() == 0  # the last save's problems are gone with them
    assert sms_count.inner_text().startswith("GSM-7, ")
    longer = original.replace("Reply 0-10.", "Reply 0-10 and tell us why, in as many words as you like, as "
                                             "every answer is read by the team that packed your order today.")
    editor.fill(longer)
    sms_count.get_by_text("2 segments", exact=True).wait_for()
    assert "(153 a segment)" in sms_count.inner_text()
    email = page.frame_locator("iframe[name=email-preview]")
    email.get_by_text("every answer is read by the team", exact=False).wait_for()
    screenshots.mkdir(parents=True, exist_ok=True)
    # A full-page capture leaves the framed email blank: a viewport as tall as the page shows it.
    page.set_viewport_size({"width": 1280, "height": page.evaluate("document.documentElement.scrollHeight")})
    page.screenshot(path=str(screenshots / "flow-editor.png"))
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("button", name="Save new version").click()
    page.wait_for_url(f"{server.url}/app/flows/{KEY}")
    assert page.get_by_role("status").first.inner_text() == f"Saved {KEY} as version 2."

    before = server.api("GET", "/metrics").json()
    page.get_by_label("Channel", exact=True).select_option("sms")
    page.get_by_label("Your address on that channel").fill(TEST_PHONE)
    page.get_by_role("button", name="Send me a test").click()
    page.wait_for_url(f"**/app/flows/{KEY}?tested=sms*")
    page.get_by_role("link", name="answer it in the sandbox").click()
    page.wait_for_url(server.url + "/sandbox")
    page.get_by_role("button", name=f"sms · {TEST_PHONE}").click()
    thread = page.locator("#thread")
    thread.get_by_text("every answer is read by the team", exact=False).wait_for(timeout=30_000)
    page.get_by_label("Your reply").fill("9")
    page.get_by_role("button", name="Send", exact=True).click()
    thread.get_by_text("Great! What did you like most?").wait_for()
    assert server.api("GET", "/metrics").json() == before

    page.goto(f"{server.url}/app/flows/{KEY}/versions")
    assert "What version 2 changed" in page.locator("#diff-h").inner_text()
    assert "every answer is read by the team" in page.locator(".diff-added").first.inner_text()
    page.get_by_role("button", name="Roll back to version 1").click()
    page.wait_for_url(f"{server.url}/app/flows/{KEY}/versions")
    assert page.get_by_role("status").inner_text() == f"Rolled {KEY} back to version 1: it is now version 3."
    page.get_by_role("link", name=KEY, exact=True).click()
    assert page.get_by_label("Flow (YAML)").input_value() == original
    # The one failed request was the broken save, answered 422 with the problems.
    assert problems == [f"{server.url}/app/flows/{KEY}: 422",
                        "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"]

    refused: list[str] = []
    agent = new_user_page(browser, server, "agent@example.com", "agent", refused)
    assert agent.get_by_role("link", name="Flows").count() == 0
    agent.goto(server.url + "/app/flows")
    assert agent.get_by_role("heading", name="Admins only").count() == 1
    assert refused == [f"{server.url}/app/flows: 403",
                       "Failed to load resource: the server responded with a status of 403 (FORBIDDEN)"]
