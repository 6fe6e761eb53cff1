"""Driving the web app's pages with Flask's test client as a browser would: forms with their CSRF token."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bot.runtime import Runtime
from bot.users import create_user, list_users
from storage.models import Role

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_user(rt: Runtime, email: str, role: Role = Role.AGENT, *, one_time: bool = False) -> str:
    """A user and their password."""
    return create_user(rt, email, role, one_time=one_time).password


def user_id(rt: Runtime, email: str) -> int:
    return next(a.id for a in list_users(rt) if a.email == email)


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The token of the forms on the page at `path`, as the browser holds it."""
    found = _TOKEN.search(client.get(path).get_data(as_text=True))
    assert found, f"no form with a CSRF token at {path}"
    return found[1]


def submit(client: FlaskClient, page: str, action: str, data: dict[str, str], **kwargs: object) -> TestResponse:
    """A form of `page` sent to `action`, with the token the page carries."""
    return client.post(action, data={"csrf_token": csrf_token(client, page), **data}, **kwargs)  # type: ignore[arg-type]


def sign_in(client: FlaskClient, email: str, password: str, next_url: str | None = None,
            address: str = "192.0.2.10", forwarded_for: str | None = None) -> TestResponse:
    """From the client `address` (or a proxy there, forwarding for `forwarded_for`)."""
    data = {"email": email, "password": password, **({"next": next_url} if next_url else {})}
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return submit(client, "/login", "/login", data, environ_base={"REMOTE_ADDR": address}, headers=headers)


def alert(response: TestResponse) -> str | None:
    """The text of the page's alert (what a screen reader announces), or None."""
    found = re.search(r'<p class="alert" role="alert">([^<]*)</p>', response.get_data(as_text=True))
    return found[1] if found else None


class _Controls(HTMLParser):
    """Form controls and the names a screen reader would give them (labels, text, aria-label)."""

    def __init__(self) -> None:
        super().__init__()
        self.labels: set[str] = set()
        self.controls: list[tuple[str, dict[str, str | None]]] = []
        self._button: dict[str, str | None] | None = None
        self._button_text = ""
        self.buttons: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "label" and attributes.get("for"):
            self.labels.add(attributes["for"] or "")
        elif tag in ("input", "select", "textarea") and attributes.get("type") != "hidden":
            self.controls.append((tag, attributes))
        elif tag == "button":
            self._button, self._button_text = attributes, ""

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None:
            self.buttons.append(self._button.get("aria-label") or " ".join(self._button_text.split()))
            self._button = None


def unnamed_controls(html: str) -> list[str]:
    """Controls of the page without an accessible name; every button's name is listed in `button_names`."""
    parser = _Controls()
    parser.feed(html)
    missing = [f"{tag} {attrs.get('name')}" for tag, attrs in parser.controls
               if attrs.get("id") not in parser.labels and not attrs.get("aria-label")]
    return missing + [f"button #{i}" for i, name in enumerate(parser.buttons) if not name]


def button_names(html: str) -> list[str]:
    parser = _Controls()
    parser.feed(html)
    return parser.buttons
