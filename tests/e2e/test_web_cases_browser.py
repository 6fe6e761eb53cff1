"""The workbench in a real browser against `touchpoint run`: an agent signs in with a one-time password, finds the
detractor's case in the inbox, sees a new case appear without a reload, claims the first, replies (the customer
gets it in the sandbox), resolves it with a root cause, and the case leaves the open list; the "did we fix it?"
survey reaches the customer, whose answer shows on the case page; without one script error or
Content-Security-Policy violation. A POST without the CSRF token is refused and an admin page answers 403."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from storage.db import make_engine
from storage.models import Delivery
from storage.types import utcnow
from tests.e2e.browser import needs_chromium
from tests.e2e.processes import Server, cli
from tests.e2e.test_close_the_loop import answer
from tests.e2e.test_web_app_browser import watched_page
from tests.helpers import DETRACTORS_TO_RECOVERY, event, flow_yaml

pytestmark = needs_chromium

NEW_PASSWORD = "copper meadow violin 17"
# The README's screenshots are made again with TOUCHPOINT_SCREENSHOTS=1; otherwise they go to the test's directory.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def survey(server: Server, key: str, contact: dict) -> None:
    accepted = server.api("POST", "/events", json=event(key, contact=contact))
    assert accepted.status_code == 202, accepted.text
    [planned] = accepted.json()["deliveries"]
    server.wait_for(
        lambda: server.api("GET", f"/deliveries/{planned['id']}").json()["status"] == "sent", what="the survey"
    )


def recheck_due_now(server: Server, case_id: int) -> None:
    """The days the queue waits before asking "did we fix it?" pass at once: its survey falls due now."""
    engine = make_engine(server.env["TOUCHPOINT_DATABASE_URL"])
    with engine.begin() as conn:
        table = Delivery.__table__
        changed = conn.execute(sa.update(table).where(table.c.recheck_of == case_id).values(due_at=utcnow()))
        assert changed.rowcount == 1
    engine.dispose()


def test_an_agent_works_a_detractors_case_from_the_inbox_to_resolved(server: Server, browser: Any) -> None:
    screenshots = DOCS_SCREENSHOTS if os.environ.get("TOUCHPOINT_SCREENSHOTS") == "1" else server.cwd
    flow_file = server.cwd / "nps.yaml"
    flow_file.write_text(flow_yaml("web-nps", extra=DETRACTORS_TO_RECOVERY), encoding="utf-8")
    cli(server.env, "flows", "import", str(flow_file), cwd=server.cwd)
    cli(server.env, "root-causes", "add", "Late delivery", cwd=server.cwd)
    cli(server.env, "root-causes", "add", "Billing", cwd=server.cwd)
    assert server.api("PATCH", "/queues/recovery", json={"recheck_after": "3d"}).status_code == 200
    ada = {"external_id": "ada", "name": "Ada Lovelace", "phone": "+447911123456"}
    survey(server, "order-1", ada)
    answer(server, ada["phone"], "2")
    answer(server, ada["phone"], "The parcel was late and nobody called back <script>alert(1)</script>")
    alan = {"external_id": "alan", "name": "Alan Turing", "phone": "+447911000003"}
    survey(server, "order-3", alan)
    answer(server, alan["phone"], "10")

    printed = cli(server.env, "users", "create", "sam@example.com", "--role", "agent", cwd=server.cwd)
    one_time = printed.strip().rsplit("password: ", 1)[1]
    problems: list[str] = []
    page = watched_page(browser, problems)
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill("sam@example.com")
    page.get_by_label("Password").fill(one_time)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app/account/password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save my password").click()
    page.wait_for_url(server.url + "/app/cases")

    assert page.title() == "Cases – Touchpoint"
    rows = page.locator("table.cases tbody tr")
    assert rows.count() == 1  # the promoter opened no case
    grace = {"external_id": "grace", "name": "Grace Hopper", "phone": "+447911000002"}
    survey(server, "order-2", grace)
    answer(server, grace["phone"], "4")
    answer(server, grace["phone"], "Support took three days to answer")
    # The list fetches itself again: Grace's new case appears with no reload (the flash message stays).
    page.get_by_role("link", name="Grace Hopper").wait_for(timeout=40_000)
    assert page.get_by_role("status").text_content().strip() == "Your password is changed."
    page.reload()
    assert rows.count() == 2
    ada_row = rows.filter(has_text="Ada Lovelace")
    assert "The parcel was late and nobody called back <script>alert(1)</script>" in ada_row.inner_text()
    assert "detractor" in ada_row.inner_text() and "unassigned" in ada_row.inner_text()
    screenshots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshots / "inbox.png"), full_page=True)

    page.get_by_role("link", name="Ada Lovelace").click()
    page.wait_for_url("**/app/cases/*")
    case_url = page.url
    page.get_by_role("button", name="Claim").click()
    page.wait_for_url(case_url)
    assert page.get_by_role("status").text_content().strip() == "You have the case."
    assert "assigned to sam@example.com" in page.locator(".case-state").inner_text()
    # The browser's own session, without the form's CSRF token: refused, and no note is added.
    forged = page.request.post(case_url + "/note", form={"text": "Forged note"}, max_redirects=0)
    assert forged.status == 400
    page.reload()
    assert "Forged note" not in page.get_by_role("main").inner_text()

    page.get_by_role("textbox", name="Reply", exact=True).fill("So sorry, Ada. We have refunded the delivery.")
    page.get_by_role("button", name="Reply", exact=True).click()
    page.wait_for_url(case_url)
    assert page.get_by_role("status").text_content().strip() == "Your reply is sent on sms."
    sent = server.api("GET", "/sandbox/messages", params={"to": ada["phone"]}).json()["items"]
    assert sent[-1]["text"] == "So sorry, Ada. We have refunded the delivery."
    page.get_by_role("textbox", name="Note", exact=True).fill("Courier confirmed a missed slot.")
    page.get_by_role("button", name="Add note").click()
    page.wait_for_url(case_url)
    page.get_by_label("Root cause").select_option("Late delivery")
    page.get_by_label("Resolution note").fill("Refunded the delivery fee.")

    page.get_by_role("button", name="Resolve").click()
    page.wait_for_url(case_url)
    assert page.get_by_role("status").text_content().strip() == "The case is resolved."
    assert "root cause: Late delivery" in page.locator(".case-state").inner_text()
    assert page.get_by_role("button", name="Reopen").count() == 1

    recheck_due_now(server, int(case_url.rsplit("/", 1)[1]))
    server.wait_for(lambda: server.api("GET", "/sandbox/messages", params={"to": ada["phone"]}).json()["items"][-1][
        "text"].startswith("We followed up on your earlier answer"), what='the "did we fix it?" survey')
    answer(server, ada["phone"], "9")
    page.reload()
    fixed = page.locator(".facts .recheck")
    assert fixed.locator("dt").inner_text() == "Did we fix it?"
    assert fixed.locator("dd").inner_text().startswith("9 promoter, ")
    assert "root cause: Late delivery" in page.locator(".case-state").inner_text()  # a promoter: still resolved
    page.screenshot(path=str(screenshots / "case.png"), full_page=True)

    page.get_by_role("link", name="← Cases").click()
    page.wait_for_url(server.url + "/app/cases")
    assert "Ada Lovelace" not in page.locator("table.cases tbody").inner_text()
    assert rows.count() == 1 and page.get_by_role("link", name="Grace Hopper").count() == 1
    page.locator("summary", has_text="Filters").click()
    page.get_by_label("Status").select_option("resolved")
    page.get_by_role("button", name="Show cases").click()
    page.wait_for_url("**/app/cases?*status=resolved*")
    assert page.get_by_role("link", name="Ada Lovelace").count() == 1
    assert problems == []

    refused = page.goto(server.url + "/app/admin")
    assert refused is not None and refused.status == 403
    assert page.get_by_role("heading", level=1).text_content() == "Admins only"
    assert [p for p in problems if "403" not in p] == [] and f"{server.url}/app/admin: 403" in problems
