"""A newcomer plays the web customer at /sandbox in a real browser: `touchpoint demo`, the worker sends
Katherine's onboarding survey on the web, and the sandbox's Web widget panel opens her web app with the real
widget script; she answers with the keyboard and the answer is read back through the HTTP API."""

from __future__ import annotations

import requests

from tests.e2e.browser import focused_label, in_widget, needs_chromium
from tests.e2e.processes import Server, cli

pytestmark = needs_chromium

QUESTION = "Katherine, how easy was it to get set up?"
WIDGET = "touchpoint-widget"


def test_a_newcomer_answers_the_demo_web_survey_from_the_sandbox(server: Server, browser) -> None:
    out = cli(server.env, "demo", cwd=server.cwd)
    assert f"web widget: site demo created for {server.url}" in out
    assert "onboarding.completed -> onboarding-ces survey for demo-katherine by web" in out

    def waiting() -> int:
        identity = requests.get(server.url + "/sandbox/widget/identity", params={"user": "demo-katherine"},
                                timeout=5).json()
        return identity["waiting"]

    server.wait_for(waiting, 60, "the worker to send Katherine's web survey (the demo flow waits 20 seconds)")

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server.url + "/sandbox")
    page.get_by_label("Demo customer").select_option("demo-katherine")
    page.get_by_role("button", name="Open as this customer").click()
    page.wait_for_function("() => document.getElementById('widget-status').textContent.includes('waiting: 1')")

    frame_element = page.wait_for_selector("#widget-frame:not([hidden])")
    frame = frame_element.content_frame()
    frame.wait_for_selector("[role=dialog]", timeout=15_000)
    assert frame.title() == "Your web app, signed in as Katherine Johnson"
    title = in_widget(frame, "return root.getElementById(root.querySelector('[role=dialog]')"
                             ".getAttribute('aria-labelledby')).textContent;")
    assert title == QUESTION
    assert frame.text_content("#status") == "A web survey is waiting: it pops up on this page."
    assert focused_label(frame) == "DIV"  # focus moved into the dialog

    for _ in range(6):
        page.keyboard.press("Tab")
    assert focused_label(frame) == "6 out of 7"
    page.keyboard.press("Enter")
    frame.wait_for_function(f"() => document.querySelector('{WIDGET}').shadowRoot.querySelector('textarea')"
                            f" === document.querySelector('{WIDGET}').shadowRoot.activeElement")
    assert in_widget(frame, "return root.querySelector('label').textContent;") == \
        "Glad it was easy! Anything we could still improve?"
    page.keyboard.type("The invite email took a while to arrive")
    page.keyboard.press("Tab")
    assert focused_label(frame) == "BUTTON"
    page.keyboard.press("Enter")
    frame.wait_for_function(f"() => (document.querySelector('{WIDGET}').shadowRoot.querySelector('[role=status]')"
                            " || {}).textContent === 'Thanks, this helps us make setup easier.'")

    [response] = server.api("GET", "/responses", params={"flow": "onboarding-ces"}).json()["items"]
    assert (response["channel"], response["contact"]["external_id"], response["score"], response["band"]) == (
        "web", "demo-katherine", 6, "promoter")
    assert response["comment"] == "The invite email took a while to arrive"

    # Opening her web app again shows nothing: the survey was shown once and answered.
    page.get_by_role("button", name="Open as this customer").click()
    page.wait_for_function("() => document.getElementById('widget-status').textContent.includes('waiting: 0')")
    frame = page.wait_for_selector("#widget-frame").content_frame()
    frame.wait_for_function("() => document.getElementById('status').textContent.startsWith('The widget has')")
    assert frame.query_selector(WIDGET) is None
