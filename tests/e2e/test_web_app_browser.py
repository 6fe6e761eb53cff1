"""The web app in a real browser against `touchpoint run`: a new user signs in with the one-time password the CLI
printed, is made to choose their own, lands on Cases, and signs out, with the keyboard where it matters and
without one script error or Content-Security-Policy violation; an agent asking for an admin page gets 403."""

from __future__ import annotations

from typing import Any

from tests.e2e.browser import needs_chromium
from tests.e2e.processes import Server, cli

pytestmark = needs_chromium

NEW_PASSWORD = "plum orbit lantern 42"


def watched_page(browser: Any, problems: list[str]) -> Any:
    """A page whose console errors (a CSP violation is one) and failed requests land in `problems`."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    # A request the browser dropped because the page moved on (the favicon, say) did not fail.
    page.on("requestfailed", lambda request: problems.append(f"{request.url} failed: {request.failure}")
            if request.failure != "net::ERR_ABORTED" else None)
    page.on("response", lambda response: problems.append(f"{response.url}: {response.status}")
            if response.status >= 400 else None)
    return page


def new_user_page(browser: Any, server: Server, email: str, role: str, problems: list[str]) -> Any:
    """A user made with the CLI, signed in with their one-time password and past choosing their own."""
    printed = cli(server.env, "users", "create", email, "--role", role, cwd=server.cwd)
    page = watched_page(browser, problems)
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(printed.strip().rsplit("password: ", 1)[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app/account/password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save my password").click()
    page.wait_for_url(server.url + "/app/cases")  # where every new user lands
    return page


def test_a_new_user_chooses_their_password_lands_on_cases_and_signs_out(server: Server, browser: Any) -> None:
    printed = cli(server.env, "users", "create", "dana@example.com", "--role", "agent", cwd=server.cwd)
    one_time = printed.strip().rsplit("password: ", 1)[1]
    problems: list[str] = []
    page = watched_page(browser, problems)

    page.goto(server.url + "/app/cases")
    assert page.url == server.url + "/login?next=/app/cases"
    assert page.title() == "Sign in – Touchpoint"
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).display") == "flex"  # our CSS
    page.get_by_label("Email").fill("dana@example.com")
    page.get_by_label("Password").fill(one_time)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url("**/app/account/password?next=/app/cases")
    assert page.get_by_role("heading", level=1).text_content() == "Choose your password"
    assert page.get_by_role("navigation").count() == 0  # nothing else until the password is chosen
    assert page.evaluate("document.activeElement.id") == "new_password"
    page.keyboard.type(NEW_PASSWORD)
    page.keyboard.press("Tab")
    page.keyboard.type(NEW_PASSWORD)
    page.keyboard.press("Enter")

    page.wait_for_url(server.url + "/app/cases")
    assert page.title() == "Cases – Touchpoint"
    assert page.get_by_role("status").text_content().strip() == "Your password is changed."
    navigation = page.get_by_role("navigation", name="Main")
    assert navigation.get_by_role("link").all_text_contents() == ["Cases", "Queues", "Insights"]
    assert navigation.get_by_role("link", name="Cases").get_attribute("aria-current") == "page"
    assert "Signed in as dana@example.com" in page.locator(".account").inner_text()

    page.keyboard.press("Tab")  # the first stop is the skip link, shown when focused
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert page.get_by_role("link", name="Skip to content").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(server.url + "/login")
    assert page.get_by_role("status").text_content().strip() == "You are signed out."
    page.goto(server.url + "/app/cases")
    assert page.url == server.url + "/login?next=/app/cases"

    # The password chosen is the one that works now.
    page.get_by_label("Email").fill("dana@example.com")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(server.url + "/app/cases")
    assert problems == []


def test_an_agent_asking_for_the_users_page_gets_403(server: Server, browser: Any) -> None:
    demo = cli(server.env, "demo", cwd=server.cwd)
    password = next(line for line in demo.splitlines() if line.startswith("web app: agent ")).rsplit(" ", 1)[1]
    problems: list[str] = []
    page = watched_page(browser, problems)
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill("agent@demo.example.com")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/app/cases")

    answer = page.goto(server.url + "/app/admin/users")
    assert answer is not None and answer.status == 403
    assert answer.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self';")
    assert page.get_by_role("heading", level=1).text_content() == "Admins only"
    main_links = page.get_by_role("navigation", name="Main").get_by_role("link").all_text_contents()
    assert main_links == ["Cases", "Queues", "Insights"]
    # Only the 403 itself is reported by the browser.
    assert [p for p in problems if "403" not in p] == []
    assert f"{server.url}/app/admin/users: 403" in problems
