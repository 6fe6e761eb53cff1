"""The web widget in a real browser: headless Chromium loads a customer's page (another origin, with hostile
CSS) that embeds the snippet, and a user answers with the keyboard alone; the answer is read back through the
HTTP API like any other channel's."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.e2e.browser import focused_label, in_widget, needs_chromium
from tests.e2e.conftest import StartServer
from tests.e2e.processes import Server, cli, free_port

HOSTILE_CSS = "* { all: unset; font-size: 40px !important; color: red !important } button { display:none !important }"

pytestmark = needs_chromium

FLOW = """\
key: web-nps
name: NPS in the app
trigger:
  event: export.finished
channels: [web]
question:
  kind: nps
  text:
    en: "How likely are you to recommend us to a colleague?"
comment:
  ask: always
  prompt:
    en:
      detractor: "Sorry about that. What went wrong?"
      passive: "What would make it a 10?"
      promoter: "Great! What did you like most?"
thanks: {en: "Thank you for telling us!"}
routing:
  - when: {band: detractor}
    queue: recovery
    priority: high
    sla: 4h
web:
  include: ["/app/*"]
"""


class HostPages:
    """The customer's web app: pages served from another origin than Touchpoint's."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server API)
                body = pages.get(self.path.split("?")[0])
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "not found").encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def page(self, path: str, touchpoint: str, public_key: str, user_id: str, user_hash: str,
             css: str = HOSTILE_CSS) -> str:
        self.pages[path] = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Customer app</title><style>{css}</style></head>
<body><h1>Reports</h1><input id="search" aria-label="Search"><button id="host-button">Save</button>
<script>
window.Touchpoint = window.Touchpoint || {{q: [],
  identify: function () {{ this.q.push(["identify", arguments]); }},
  track: function () {{ this.q.push(["track", arguments]); }}}};
</script>
<script async src="{touchpoint}/widget/v1/touchpoint.js" data-key="{public_key}"></script>
<script>Touchpoint.identify("{user_id}", {{hash: "{user_hash}", attributes: {{plan: "team"}}}});</script>
</body></html>"""
        return self.origin + path


@dataclass
class Site:
    public_key: str
    secret: str

    def sign(self, user_id: str) -> str:
        return hmac.new(self.secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def host() -> Iterator[HostPages]:
    pages = HostPages()
    pages.thread.start()
    yield pages
    pages.server.shutdown()
    pages.server.server_close()


@pytest.fixture
def server(start_server: StartServer) -> Server:
    server = start_server()
    flow = server.cwd / "web.yaml"
    flow.write_text(FLOW, encoding="utf-8")
    cli(server.env, "flows", "import", str(flow), cwd=server.cwd)
    return server


@pytest.fixture
def site(server: Server, host: HostPages) -> Site:
    out = cli(server.env, "sites", "create", "customer-app", "--origin", host.origin, cwd=server.cwd)
    lines = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    return Site(lines["public key"], lines["secret"])


def test_a_user_answers_with_the_keyboard_and_the_answer_reaches_the_api(
    server: Server, host: HostPages, site: Site, browser
) -> None:
    url = host.page("/app/reports", server.url, site.public_key, "user-ada", site.sign("user-ada"))
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    with page.expect_response(lambda r: r.url.endswith("/identify")) as first:
        page.goto(url)
    assert first.value.json() == {"survey": None}  # nothing waits for Ada yet

    page.evaluate("Touchpoint.track('export.finished', {rows: 1200})")
    dialog = page.wait_for_selector("[role=dialog]", timeout=15_000)
    assert dialog.get_attribute("aria-modal") == "true"
    title = in_widget(page, "return root.getElementById(root.querySelector('[role=dialog]')"
                            ".getAttribute('aria-labelledby')).textContent;")
    assert title == "How likely are you to recommend us to a colleague?"
    assert focused_label(page) == "DIV"  # focus moved into the dialog

    # The page's hostile CSS changes nothing inside the shadow root.
    style = in_widget(page, "const s = getComputedStyle(root.querySelector('[aria-label=\"8 out of 10\"]'));"
                            "return {display: s.display, size: s.fontSize, color: s.color};")
    assert style["display"] != "none" and style["size"] == "15px" and style["color"] != "rgb(255, 0, 0)"
    names = in_widget(page, "return [...root.querySelectorAll('.scale button')]"
                            ".map(b => b.getAttribute('aria-label'));")
    assert names == [f"{n} out of 10" for n in range(11)]
    ends = in_widget(page, "const group = root.querySelector('[role=group]');"
                           "const ends = root.getElementById(group.getAttribute('aria-describedby'));"
                           "const box = ends.getBoundingClientRect();"
                           "return {texts: [...ends.children].map(s => s.textContent), shown: box.height > 0,"
                           "below: box.top >= group.getBoundingClientRect().bottom};")
    assert ends == {"texts": ["0 = Not at all likely", "10 = Extremely likely"], "shown": True, "below": True}

    for _ in range(4):
        page.keyboard.press("Tab")
    assert focused_label(page) == "3 out of 10"
    outline = in_widget(page, "return getComputedStyle(root.activeElement).outlineStyle;")
    assert outline == "solid"  # visible focus
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('touchpoint-widget').shadowRoot.querySelector('textarea')"
                           " === document.querySelector('touchpoint-widget').shadowRoot.activeElement")
    assert in_widget(page, "return root.querySelector('label').textContent;") == "Sorry about that. What went wrong?"
    page.keyboard.type("The export was broken and nobody called me back")
    page.keyboard.press("Tab")
    assert focused_label(page) == "BUTTON"
    page.keyboard.press("Enter")
    page.wait_for_function("() => (document.querySelector('touchpoint-widget').shadowRoot"
                           ".querySelector('[role=status]') || {}).textContent === 'Thank you for telling us!'")

    [response] = server.api("GET", "/responses").json()["items"]
    assert (response["channel"], response["contact"]["external_id"], response["score"], response["band"]) == (
        "web", "user-ada", 3, "detractor")
    assert response["comment"] == "The export was broken and nobody called me back"
    assert response["sentiment"]["label"] == "negative"
    [case] = server.api("GET", "/followups").json()["items"]
    assert (case["response_id"], case["queue"], case["priority"]) == (response["id"], "recovery", "high")

    # Another survey for Ada is queued by the server, yet the next page views show nothing.
    accepted = server.api("POST", "/events", json={"type": "export.finished", "idempotency_key": "srv-1",
                                                   "contact": {"external_id": "user-ada"}})
    assert accepted.status_code == 202
    server.wait_for(lambda: server.api("GET", f"/deliveries/{accepted.json()['deliveries'][0]['id']}")
                    .json()["status"] == "sent", what="the second survey to be waiting")
    page.goto(host.page("/app/other", server.url, site.public_key, "user-ada", site.sign("user-ada")))
    page.wait_for_timeout(1500)
    assert page.query_selector("touchpoint-widget") is None  # one survey per visit (this tab)
    fresh = browser.new_page()
    with fresh.expect_response(lambda r: r.url.endswith("/identify")) as second:
        fresh.goto(host.origin + "/app/other")
    assert second.value.status == 200 and second.value.json() == {"survey": None}  # the recontact period
    fresh.wait_for_timeout(500)
    assert fresh.query_selector("touchpoint-widget") is None


def test_a_wrong_hash_sees_nothing(server: Server, host: HostPages, site: Site, browser) -> None:
    accepted = server.api("POST", "/events", json={"type": "export.finished", "idempotency_key": "srv-eve",
                                                   "contact": {"external_id": "user-eve"}})
    [planned] = accepted.json()["deliveries"]
    server.wait_for(lambda: server.api("GET", f"/deliveries/{planned['id']}").json()["status"] == "sent",
                    what="Eve's survey to be waiting")
    forged = hmac.new(b"guessed", b"user-eve", hashlib.sha256).hexdigest()
    page = browser.new_page()
    with page.expect_response(lambda r: r.url.endswith("/identify")) as identify:
        page.goto(host.page("/app/reports", server.url, site.public_key, "user-eve", forged))
    assert identify.value.status == 403 and "survey" not in identify.value.json()
    page.wait_for_timeout(1000)
    assert page.query_selector("touchpoint-widget") is None
    assert server.api("GET", f"/deliveries/{planned['id']}").json()["status"] == "sent"


def test_escape_closes_the_pop_up_and_gives_focus_back_on_a_phone(
    server: Server, host: HostPages, site: Site, browser
) -> None:
    page = browser.new_page(viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True)
    # A page that fits the phone (the hostile one overflows it, so the browser zooms out).
    page.goto(host.page("/app/reports", server.url, site.public_key, "user-bo", site.sign("user-bo"),
                        css="body { font: 16px sans-serif; margin: 0 }"))
    page.wait_for_function("() => window.Touchpoint && window.Touchpoint.version === 1")
    page.focus("#search")
    page.evaluate("Touchpoint.track('export.finished')")
    page.wait_for_selector("[role=dialog]", timeout=15_000)
    box = in_widget(page, "const r = root.querySelector('[role=dialog]').getBoundingClientRect();"
                          "const b = root.querySelector('.scale button').getBoundingClientRect();"
                          "return {left: r.left, right: r.right, button: b.height, width: b.width};")
    assert box["left"] >= 0 and box["right"] <= 360 and box["button"] >= 40 and box["width"] >= 40
    ends = in_widget(page, "return [...root.querySelectorAll('.ends span')].map(s => {"
                           "const r = s.getBoundingClientRect();"
                           "return [s.textContent, r.left >= 0 && r.right <= 360];});")
    assert ends == [["0 = Not at all likely", True], ["10 = Extremely likely", True]]

    for _ in range(12):  # Tab cycles inside the dialog: it never reaches the page
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.tagName") == "TOUCHPOINT-WIDGET"
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.querySelector('touchpoint-widget')")
    assert page.evaluate("document.activeElement.id") == "search"

    again = browser.new_page()
    with again.expect_response(lambda r: r.url.endswith("/identify")) as identify:
        again.goto(host.origin + "/app/reports")
    assert identify.value.json() == {"survey": None}  # dismissed: not shown again
