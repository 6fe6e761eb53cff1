"""Signing in to the web app: passwords, one-time passwords, limits on failures, sessions that end, CSRF, roles
and the headers every page carries."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from bot.app import create_app
from bot.pages.web import CSP
from bot.runtime import Runtime
from bot.users import address_bucket, reset_password, set_disabled
from storage.models import Role, SignInFailure
from storage.types import utcnow
from tests.conftest import make_settings
from tests.web_client import add_user, alert, csrf_token, sign_in, submit

AGENT, ADMIN = "agent@example.com", "admin@example.com"
WRONG = "Wrong email or password."
TOO_MANY = "Too many failed sign-ins. Wait 15 minutes and try again."
NEW_PASSWORD = "correct horse battery staple"
FAILURES = SignInFailure.__table__  # type: ignore[attr-defined]


@pytest.fixture
def agent(rt: Runtime) -> str:
    return add_user(rt, AGENT)


@contextmanager
def another_app(database_url: str, **overrides: object) -> Iterator[Flask]:
    """Another web process on the same database, with its own settings."""
    app = create_app(make_settings(database_url, **overrides))
    try:
        yield app
    finally:
        app.extensions["touchpoint"].close()


@pytest.fixture
def https_app(database_url: str) -> Iterator[Flask]:
    with another_app(database_url, public_url="https://touchpoint.example.com") as app:
        yield app


# --- signing in -------------------------------------------------------------------------------------------


def test_a_visitor_is_sent_to_sign_in_and_comes_back_to_the_page_they_asked_for(client: FlaskClient,
                                                                              agent: str) -> None:
    asked = client.get("/app/cases?view=mine")
    assert asked.status_code == 303 and asked.headers["Location"] == "/login?next=/app/cases?view%3Dmine"

    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert '<label for="email">Email</label>' in page and '<label for="password">Password</label>' in page
    assert '<button type="submit">Sign in</button>' in page

    signed_in = sign_in(client, AGENT, agent, next_url="/app/cases?view=mine")
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/app/cases?view=mine"
    cases = client.get("/app/cases").get_data(as_text=True)
    assert "<title>Cases – Touchpoint</title>" in cases and "<h1>Cases</h1>" in cases
    assert f"Signed in as <strong>{AGENT}</strong>" in cases
    assert '<a href="/app/cases" aria-current="page">Cases</a>' in cases
    assert "/app/admin/users" not in cases  # agents see no Users item
    assert client.get("/app").headers["Location"] == "/app/cases"


def test_an_admin_sees_admin_in_the_navigation_and_users_in_it(client: FlaskClient, rt: Runtime) -> None:
    password = add_user(rt, ADMIN, Role.ADMIN)
    sign_in(client, ADMIN, password)
    page = client.get("/app/cases").get_data(as_text=True)
    assert '<a href="/app/admin">Admin</a>' in page and "/app/admin/users" not in page
    hub = client.get("/app/admin").get_data(as_text=True)
    assert '<a href="/app/admin" aria-current="page">Admin</a>' in hub
    assert '<a href="/app/admin/users">Users</a>' in hub


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(client: FlaskClient, agent: str) -> None:
    wrong = sign_in(client, AGENT, agent + "x")
    unknown = sign_in(client, "nobody@example.com", agent)
    assert (wrong.status_code, alert(wrong)) == (401, WRONG)
    assert (unknown.status_code, alert(unknown)) == (401, WRONG)
    assert f'value="{AGENT}"' in wrong.get_data(as_text=True)  # the email stays typed in, the password not
    assert agent not in wrong.get_data(as_text=True)
    assert client.get("/app/cases").status_code == 303


def test_empty_fields_are_named(client: FlaskClient) -> None:
    answer = submit(client, "/login", "/login", {"email": " ", "password": ""})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="email-error"><span class="visually-hidden">Error: </span>Enter your email</p>' in page
    assert "Enter your password" in page and 'aria-invalid="true"' in page


def test_only_local_next_urls_are_followed(client: FlaskClient, agent: str) -> None:
    for target in ("https://evil.example/", "//evil.example/app", "/\\evil.example", "javascript:alert(1)"):
        answer = sign_in(client, AGENT, agent, next_url=target)
        assert answer.headers["Location"] == "/app", target
        client.post("/logout", data={"csrf_token": csrf_token(client, "/app/cases")})


# --- limits -----------------------------------------------------------------------------------------------


def test_five_failures_lock_the_account_from_every_address_and_in_every_process(
        client: FlaskClient, agent: str, database_url: str) -> None:
    for attempt in range(5):
        assert alert(sign_in(client, AGENT, f"guess-{attempt}", address=f"192.0.2.{attempt}")) == WRONG
    locked = sign_in(client, AGENT, agent, address="198.51.100.7")  # the right password, from elsewhere
    assert (locked.status_code, alert(locked), locked.headers["Retry-After"]) == (429, TOO_MANY, "900")
    assert client.get("/app/cases").status_code == 303

    with another_app(database_url) as other:  # another web process counts the same failures
        assert alert(sign_in(other.test_client(), AGENT, agent, address="203.0.113.9")) == TOO_MANY


def test_an_unknown_account_is_locked_the_same_way(client: FlaskClient, agent: str) -> None:
    answers = [alert(sign_in(client, "nobody@example.com", "guess", address=f"192.0.2.{i}")) for i in range(6)]
    assert answers == [WRONG] * 5 + [TOO_MANY]


def test_the_window_passes_and_a_success_starts_the_count_again(client: FlaskClient, agent: str, rt: Runtime) -> None:
    for _ in range(4):
        sign_in(client, AGENT, "guess")
    assert sign_in(client, AGENT, agent).status_code == 303
    client.post("/logout", data={"csrf_token": csrf_token(client, "/app/cases")})
    for _ in range(5):
        assert alert(sign_in(client, AGENT, "guess")) == WRONG
    assert alert(sign_in(client, AGENT, agent)) == TOO_MANY

    with rt.engine.begin() as conn:  # the failures are now older than the 15-minute window
        conn.execute(sa.update(FAILURES).values(at=utcnow() - timedelta(minutes=16)))
    assert sign_in(client, AGENT, agent).status_code == 303


def test_failures_from_one_address_lock_it_for_every_account(database_url: str, rt: Runtime) -> None:
    password = add_user(rt, AGENT)
    with another_app(database_url, sign_in_failures_per_address=3) as app:
        client = app.test_client()
        answers = [alert(sign_in(client, f"user{i}@example.com", "guess", address="2001:db8::1")) for i in range(3)]
        assert answers == [WRONG] * 3
        # Another address in the same IPv6 /64 is the same client.
        assert alert(sign_in(client, AGENT, password, address="2001:db8::ff")) == TOO_MANY
        assert sign_in(client, AGENT, password, address="2001:db8:0:1::1").status_code == 303


@pytest.mark.parametrize("proxies", [0, 1])
def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(database_url: str, rt: Runtime,
                                                                 proxies: int) -> None:
    password = add_user(rt, AGENT)
    with another_app(database_url, sign_in_failures_per_address=2, proxy_hops=proxies) as app:
        client = app.test_client()
        for i in range(2):
            sign_in(client, f"user{i}@example.com", "guess", address="10.0.0.1", forwarded_for="192.0.2.1")
        other_client = sign_in(client, AGENT, password, address="10.0.0.1", forwarded_for="192.0.2.2")
        # Trusted, the proxy's header names two clients; not trusted, everyone is the proxy's address.
        assert other_client.status_code == (303 if proxies else 429)
        again = sign_in(app.test_client(), AGENT, password, address="10.0.0.1", forwarded_for="192.0.2.1")
        assert again.status_code == 429


def test_the_address_counted_is_the_ipv4_address_or_the_ipv6_64() -> None:
    assert address_bucket("192.0.2.1") == "192.0.2.1"
    assert address_bucket("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert address_bucket("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_bucket("not an address") == "not an address"


def test_sign_in_logs_carry_neither_the_email_nor_the_password(client: FlaskClient, agent: str,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sign_in(client, AGENT, "the-wrong-password-42")
    sign_in(client, "nobody@example.com", "another-wrong-one-42")
    sign_in(client, AGENT, agent)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "sign-in failed user=1" in text and "sign-in failed user=-" in text and "sign-in user=1" in text
    for secret in (AGENT, "nobody@example.com", "the-wrong-password-42", "another-wrong-one-42", agent):
        assert secret not in text


# --- one-time passwords -----------------------------------------------------------------------------------


def test_a_one_time_password_must_be_changed_before_anything_else(client: FlaskClient, rt: Runtime) -> None:
    one_time = add_user(rt, ADMIN, Role.ADMIN, one_time=True)
    signed_in = sign_in(client, ADMIN, one_time, next_url="/app/admin/users")
    change = "/app/account/password?next=/app/admin/users"
    assert signed_in.headers["Location"] == change
    for elsewhere in ("/app/cases", "/app/admin/users", "/app"):
        assert client.get(elsewhere).headers["Location"].startswith("/app/account/password"), elsewhere
    page = client.get(change).get_data(as_text=True)
    assert "<h1>Choose your password</h1>" in page and 'aria-current' not in page  # no navigation yet

    def choose(new: str, again: str | None = None) -> tuple[int, str]:
        answer = submit(client, change, change, {"new_password": new, "new_password_again": again or new})
        return answer.status_code, answer.get_data(as_text=True)

    assert "New password must be at least 12 characters long" in choose("short")[1]
    assert "The two new passwords are not the same" in choose(NEW_PASSWORD, NEW_PASSWORD + "!")[1]
    status, page = choose(ADMIN)
    assert (status, "New password must not be your email" in page) == (422, True)

    done = submit(client, change, change, {"new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["Location"] == "/app/admin/users"
    assert "Your password is changed." in client.get("/app/admin/users").get_data(as_text=True)

    fresh = client.application.test_client()
    assert alert(sign_in(fresh, ADMIN, one_time)) == WRONG
    assert sign_in(fresh, ADMIN, NEW_PASSWORD).headers["Location"] == "/app"


def test_the_new_password_must_differ_from_the_one_time_one(client: FlaskClient, rt: Runtime) -> None:
    one_time = add_user(rt, AGENT, one_time=True)
    sign_in(client, AGENT, one_time)
    path = "/app/account/password"
    same = submit(client, path, path, {"new_password": one_time, "new_password_again": one_time})
    # A one-time password is 16 characters, long enough to pass the length rule: only this one refuses it.
    assert same.status_code == 422 and "New password must differ from your one-time password" in same.get_data(
        as_text=True)


def test_changing_ones_password_asks_for_the_current_one_and_ends_the_other_sessions(
        client: FlaskClient, agent: str) -> None:
    laptop, phone = client, client.application.test_client()
    sign_in(laptop, AGENT, agent)
    sign_in(phone, AGENT, agent)
    path = "/app/account/password"
    page = laptop.get(path).get_data(as_text=True)
    assert '<label for="current_password">Current password</label>' in page
    wrong = submit(laptop, path, path, {"current_password": "nope", "new_password": NEW_PASSWORD,
                                        "new_password_again": NEW_PASSWORD})
    assert "Current password is not your current password" in wrong.get_data(as_text=True)

    done = submit(laptop, path, path, {"current_password": agent, "new_password": NEW_PASSWORD,
                                       "new_password_again": NEW_PASSWORD})
    assert done.status_code == 303
    assert laptop.get("/app/cases").status_code == 200
    assert phone.get("/app/cases").headers["Location"] == "/login?next=/app/cases"


# --- sessions that end --------------------------------------------------------------------------------------


def test_a_disabled_users_session_ends_at_their_next_request(client: FlaskClient, agent: str, rt: Runtime) -> None:
    sign_in(client, AGENT, agent)
    assert client.get("/app/cases").status_code == 200
    set_disabled(rt, AGENT, True)
    assert client.get("/app/cases").headers["Location"] == "/login?next=/app/cases"
    refused = sign_in(client, AGENT, agent)
    assert (refused.status_code, alert(refused)) == (401, "This account is disabled. Ask an admin to enable it.")
    set_disabled(rt, AGENT, False)
    assert sign_in(client, AGENT, agent).status_code == 303


def test_a_password_reset_ends_the_session(client: FlaskClient, agent: str, rt: Runtime) -> None:
    sign_in(client, AGENT, agent)
    new = reset_password(rt, AGENT)
    assert client.get("/app/cases").status_code == 303
    assert alert(sign_in(client, AGENT, agent)) == WRONG
    assert sign_in(client, AGENT, new.password).headers["Location"] == "/app/account/password"


def test_signing_out_ends_the_session_even_for_a_copied_cookie(client: FlaskClient, agent: str) -> None:
    sign_in(client, AGENT, agent)
    cookie = client.get_cookie("touchpoint")
    assert cookie is not None
    page = client.get("/app/cases").get_data(as_text=True)
    assert '<button type="submit" class="secondary">Sign out</button>' in page

    out = client.post("/logout", data={"csrf_token": csrf_token(client, "/app/cases")})
    assert out.status_code == 303 and out.headers["Location"] == "/login"
    assert "You are signed out." in client.get("/login").get_data(as_text=True)
    assert client.get("/app/cases").status_code == 303

    thief = client.application.test_client()
    thief.set_cookie("touchpoint", cookie.value)
    assert thief.get("/app/cases").status_code == 303


def test_a_session_ends_after_the_configured_hours(client: FlaskClient, agent: str) -> None:
    sign_in(client, AGENT, agent)
    with client.session_transaction() as session:
        session["since"] -= 12 * 3600 + 1
    assert client.get("/app/cases").status_code == 303


# --- CSRF, roles, cookies, headers ------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_is_refused_with_a_clear_page(client: FlaskClient, agent: str,
                                                                     rt: Runtime) -> None:
    client.get("/login")
    refused = client.post("/login", data={"email": AGENT, "password": agent})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "<h1>This form has expired</h1>" in page and "reload the page" in page
    assert client.get("/app/cases").status_code == 303  # not signed in

    sign_in(client, AGENT, agent)
    forged = client.post("/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 400 and client.get("/app/cases").status_code == 200
    header = client.post("/logout", headers={"X-CSRF-Token": csrf_token(client, "/app/cases")})
    assert header.status_code == 303


def test_another_sessions_token_does_not_do(client: FlaskClient, agent: str) -> None:
    other = client.application.test_client()
    token = csrf_token(other)
    client.get("/login")
    assert client.post("/login", data={"csrf_token": token, "email": AGENT, "password": agent}).status_code == 400


def test_an_agent_gets_a_403_page_on_admin_pages(client: FlaskClient, agent: str, rt: Runtime) -> None:
    sign_in(client, AGENT, agent)
    page = client.get("/app/admin/users")
    assert page.status_code == 403
    text = page.get_data(as_text=True)
    assert "<h1>Admins only</h1>" in text and f"Signed in as <strong>{AGENT}</strong>" in text
    assert page.headers["Content-Security-Policy"] == CSP
    created = client.post("/app/admin/users", data={"csrf_token": csrf_token(client, "/app/cases"),
                                                    "email": "new@example.com", "role": "admin"})
    assert created.status_code == 403
    assert client.get("/app/admin/anything-else").status_code == 403


def test_session_cookies_are_http_only_lax_and_secure_behind_https(https_app: Flask, client: FlaskClient) -> None:
    plain = client.get("/login").headers["Set-Cookie"]
    assert plain.startswith("touchpoint=") and "HttpOnly" in plain and "SameSite=Lax" in plain
    assert "Secure" not in plain

    rt = https_app.extensions["touchpoint"]
    password = add_user(rt, AGENT)
    secure = https_app.test_client()
    first = secure.get("/login", base_url="https://localhost")
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith("__Host-touchpoint=")
    assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', first.get_data(as_text=True))
    assert token is not None
    signed = secure.post("/login", data={"csrf_token": token[1], "email": AGENT, "password": password},
                         base_url="https://localhost")
    assert signed.status_code == 303
    cookie = signed.headers["Set-Cookie"]
    assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Expires="))


def test_security_headers_are_on_every_web_app_response_and_not_the_api(client: FlaskClient, agent: str,
                                                                       auth: dict[str, str]) -> None:
    responses = [client.get("/login"), client.get("/app"), client.get("/app/cases"),
                 client.post("/login", data={})]
    sign_in(client, AGENT, agent)
    responses += [client.get("/app/cases"), client.get("/app/admin/users"), client.get("/app/no-such-page")]
    assert [r.status_code for r in responses] == [200, 303, 303, 400, 200, 403, 404]
    for response in responses:
        assert response.headers["Content-Security-Policy"] == (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"
    api = client.get("/api/v1/flows", headers=auth)
    assert api.status_code == 200 and "Content-Security-Policy" not in api.headers


def test_pages_use_only_our_own_static_files(client: FlaskClient, agent: str) -> None:
    sign_in(client, AGENT, agent)
    page = client.get("/app/cases").get_data(as_text=True)
    assert '<link rel="stylesheet" href="/static/app/app.css">' in page
    assert '<script src="/static/app/app.js" defer></script>' in page
    assert "<style" not in page and "style=" not in page and "<script>" not in page and "http" not in page
    for path, mimetype in (("/static/app/app.css", "text/css"), ("/static/app/app.js", "text/javascript")):
        with client.get(path) as served:
            assert (served.status_code, served.mimetype) == (200, mimetype)


def test_the_first_link_is_the_skip_link_to_main(client: FlaskClient, agent: str) -> None:
    sign_in(client, AGENT, agent)
    page = client.get("/app/cases").get_data(as_text=True)
    body = page.split("<body>", 1)[1]
    assert body.lstrip().startswith('<a class="skip-link" href="#main">Skip to content</a>')
    assert '<main id="main" tabindex="-1">' in page
