"""The insights dashboard in a real browser over the demo's 90-day history: a demo agent signs in and reads the
headline figures and the chart by its accessible name, without one script error or CSP violation."""

from __future__ import annotations

import os
import re
from typing import Any

from tests.e2e.browser import needs_chromium
from tests.e2e.processes import Server, cli
from tests.e2e.test_web_app_browser import watched_page
from tests.e2e.test_web_cases_browser import DOCS_SCREENSHOTS

pytestmark = needs_chromium


def test_the_dashboard_over_the_demo_history(server: Server, browser: Any) -> None:
    screenshots = DOCS_SCREENSHOTS if os.environ.get("TOUCHPOINT_SCREENSHOTS") == "1" else server.cwd
    printed = cli(server.env, "demo", "--history", "90d", cwd=server.cwd)
    assert "history: 90 days" in printed
    password = re.search(r"agent agent@demo\.example\.com, password (\S+)", printed)
    assert password
    problems: list[str] = []
    page = watched_page(browser, problems)
    page.goto(server.url + "/app/insights")
    page.get_by_label("Email").fill("agent@demo.example.com")
    page.get_by_label("Password").fill(password[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/app/insights")

    assert page.title() == "Insights – Touchpoint"
    page.get_by_role("heading", name="The last 7 days against the period before").wait_for()
    nps = page.locator(".headline-card").filter(has_text="NPS").first
    assert re.search(r"95% interval -?\d+ to -?\d+", nps.inner_text())
    chart = page.get_by_role("img", name="NPS per week, with its 95% interval")
    assert chart.is_visible()
    page.get_by_text("Filters", exact=True).click()
    page.get_by_label("Flow").fill("post-delivery-nps")
    page.get_by_label("Segment by").fill("contact.plan")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**flow=post-delivery-nps**")
    assert "significant" in page.locator(".headline-card").first.inner_text()
    assert page.get_by_role("row", name=re.compile(r"^business")).count() == 1
    screenshots.mkdir(parents=True, exist_ok=True)
    page.get_by_text("Filters", exact=True).click()  # folded, so the figures fill the picture
    page.set_viewport_size({"width": 1280, "height": 1280})
    page.screenshot(path=str(screenshots / "insights.png"))
    page.get_by_role("link", name="Comments").click()
    page.wait_for_url("**/app/insights/comments?**")
    page.evaluate("document.getElementById('themes-volume-h').scrollIntoView()")
    trend = page.get_by_role("img", name="delivery: answers per week")
    assert trend.is_visible() and trend.bounding_box()["width"] > 50  # type: ignore[index]
    page.screenshot(path=str(screenshots / "insights-themes.png"))
    page.screenshot(path=str(server.cwd / "insights-full.png"), full_page=True)
    page.get_by_role("link", name="Closing the loop").click()
    page.wait_for_url("**/app/insights/loop?**")
    recovery = page.locator(".loop div").filter(has_text="Recovery rate").inner_text()
    assert re.search(r"Recovery rate\s+\d+% \(\d+ of \d+\)", recovery), recovery
    page.get_by_text("Filters", exact=True).click()
    page.screenshot(path=str(screenshots / "insights-loop.png"), clip={"x": 0, "y": 0, "width": 1280, "height": 420})
    assert problems == []
