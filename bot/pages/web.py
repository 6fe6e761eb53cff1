"""What every page of the signed-in web app shares: who is signed in, CSRF, roles, security headers, errors.

The rules hold by path, so a new page cannot forget them: every request to /login, /logout and anything under
/app has its CSRF token checked when it changes something, and gets the security headers; anything under /app
needs a signed-in user who has replaced their one-time password, and anything under /app/admin an admin.
`login_required` and `admin_required` say the same on a view, for pages outside /app.

Sessions are Flask's signed cookie: the user's id, their session epoch, when they signed in and the CSRF token.
Every request reads the user again, so a session ends as soon as the epoch moves or the user is disabled.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from bot.runtime import runtime
from bot.settings import Settings
from bot.users import Account, session_account

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",  # signed-in pages and one-time passwords stay out of every cache
}
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HOME = "/app"
# Endpoints a user with a one-time password may reach (besides /login and /logout).
WHILE_CHANGING_PASSWORD = {"auth.password"}

_UID, _EPOCH, _SINCE, _CSRF = "uid", "epoch", "since", "csrf"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    admin_only: bool = False


# The main navigation, in order; a new area of the app adds itself here. The admin pages under /app/admin share
# one item, "Admin", which leads to their list (ADMIN_NAV), so the bar stays one short line.
NAV: list[NavItem] = [
    NavItem("Cases", "/app/cases"),
    NavItem("Queues", "/app/queues"),
    NavItem("Insights", "/app/insights"),
    NavItem("Flows", "/app/flows", admin_only=True),
    NavItem("Contacts", "/app/contacts", admin_only=True),
    NavItem("Admin", "/app/admin", admin_only=True),
]


@dataclass(frozen=True)
class AdminItem:
    label: str
    href: str
    about: str


# The admin pages, in order, each with what an admin goes there for; a new admin page adds itself here.
ADMIN_NAV: list[AdminItem] = [
    AdminItem("Users", "/app/admin/users", "Add agents and admins, disable them, reset a password."),
    AdminItem("Root causes", "/app/admin/root-causes", "The list an agent picks from when resolving a case."),
    AdminItem("Saved replies", "/app/admin/saved-replies", "Replies agents fill with the customer's name and answer."),
    AdminItem("Themes", "/app/admin/themes", "Accept, merge or reject the themes proposed from comments."),
    AdminItem("API keys", "/app/admin/api-keys", "Keys for the HTTP API: scopes, last use, revoke."),
    AdminItem("Webhooks", "/app/admin/webhooks", "Signed events sent to your URLs, with their delivery log."),
    AdminItem("Settings", "/app/admin/settings", "How long answers' personal data is kept."),
    AdminItem("Audit log", "/app/admin/audit", "Who changed which flow, queue, user, key, webhook or consent."),
]


class PageError(HTTPException):
    """A refusal shown as a page of the web app (app/error.html), with its status."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.code = status
        self.title = title
        self.message = message


def is_web_path(path: str) -> bool:
    return path in ("/login", "/logout") or is_app_path(path)


def is_app_path(path: str) -> bool:
    return path == "/app" or path.startswith("/app/")


def is_admin_path(path: str) -> bool:
    return path == "/app/admin" or path.startswith("/app/admin/")


# --- the signed-in user ------------------------------------------------------------------------------------


def current_user() -> Account | None:
    """The user this request's session names, read once per request; None when signed out or the session ended."""
    if "web_user" not in g:
        g.web_user = _session_user()
    return g.web_user


def _session_user() -> Account | None:
    uid, epoch, since = session.get(_UID), session.get(_EPOCH), session.get(_SINCE)
    if not (isinstance(uid, int) and isinstance(epoch, int) and isinstance(since, int | float)):
        return None
    rt = runtime()
    account = None
    if time.time() - since < rt.settings.session_hours * 3600:
        account = session_account(rt, uid, epoch)
    if account is None:
        end_session()
    return account


def actor() -> str:
    """Who the audit log names for a change made on a page: the signed-in user's email."""
    user = current_user()
    return user.email if user is not None else "anonymous"


def start_session(account: Account) -> None:
    """A new session for the account (a fresh cookie and CSRF token: nothing of the signed-out one is kept)."""
    session.clear()
    session.permanent = True
    session[_UID], session[_EPOCH], session[_SINCE] = account.id, account.session_epoch, int(time.time())
    session[_CSRF] = secrets.token_urlsafe(32)
    g.web_user = account


def end_session() -> None:
    session.clear()
    g.web_user = None


# --- CSRF --------------------------------------------------------------------------------------------------


def csrf_token() -> str:
    """The session's CSRF token, made on first use; every form sends it back in the `csrf_token` field."""
    token = session.get(_CSRF)
    if not isinstance(token, str):
        token = session[_CSRF] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """A request that changes something must carry the session's token (form field or X-CSRF-Token header)."""
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    expected = session.get(_CSRF)
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise PageError(400, "This form has expired",
                        "The form was not sent from a page of this site, or your session ended in the meantime. "
                        "Go back, reload the page and try again.")


# --- who may see what ----------------------------------------------------------------------------------------


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site (never another host, scheme or a protocol-relative URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def _here() -> str:
    query = request.query_string.decode("latin-1")
    return request.path + (f"?{query}" if query else "")


def to_login() -> Response:
    """To /login, coming back here after (for a page one can come back to)."""
    back = _here() if request.method in ("GET", "HEAD") else None
    return redirect(url_for("auth.login", next=back) if back else url_for("auth.login"), 303)


def to_password_change() -> Response:
    back = _here() if request.method in ("GET", "HEAD") and request.path != HOME else None
    return redirect(url_for("auth.password", next=back) if back else url_for("auth.password"), 303)


def _refusal(need_admin: bool) -> Response | None:
    user = current_user()
    if user is None:
        return to_login()
    if user.must_change_password and request.endpoint not in WHILE_CHANGING_PASSWORD:
        return to_password_change()
    if need_admin and not user.is_admin:
        raise PageError(403, "Admins only", "This page is for admins. Ask an admin if you need something here.")
    return None


def login_required(view: F) -> F:
    """The view needs a signed-in user who has replaced their one-time password (already so under /app)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return _refusal(need_admin=False) or view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def admin_required(view: F) -> F:
    """The view is for admins (already so under /app/admin): others get a 403 page."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return _refusal(need_admin=True) or view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _guard() -> Response | None:
    path = request.path
    if not is_web_path(path):
        return None
    check_csrf()
    if is_app_path(path):
        return _refusal(need_admin=is_admin_path(path))
    return None


def _security_headers(response: Response) -> Response:
    """Every web path gets them; a view that set its own policy for a document of its own (the email preview
    in the flow editor, framed by our pages) keeps it."""
    if is_web_path(request.path):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def _error_page(exc: PageError) -> tuple[str, int]:
    return render_template("app/error.html", title=exc.title, message=exc.message), exc.code or 500


def nav_items() -> list[dict[str, Any]]:
    """The navigation for the signed-in user, each item with whether it is the current page."""
    user = current_user()
    if user is None or user.must_change_password:
        return []
    path = request.path
    return [{"label": item.label, "href": item.href, "current": path == item.href or path.startswith(item.href + "/")}
            for item in NAV if user.is_admin or not item.admin_only]


def admin_nav_items() -> list[dict[str, Any]]:
    """The admin pages' own navigation, shown on each of them (not on their list at /app/admin, nor to agents)."""
    user = current_user()
    path = request.path
    if user is None or not user.is_admin or not path.startswith("/app/admin/"):
        return []
    return [{"label": item.label, "href": item.href, "current": path == item.href or path.startswith(item.href + "/")}
            for item in ADMIN_NAV]


def install(app: Flask, settings: Settings) -> None:
    """Session cookies, the rules above, the error page and the templates' helpers."""
    app.config.update(
        # The __Host- prefix makes browsers refuse the cookie unless it is Secure, host-only and for every path.
        SESSION_COOKIE_NAME="__Host-touchpoint" if settings.https else "touchpoint",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    app.before_request(_guard)
    app.after_request(_security_headers)
    app.register_error_handler(PageError, _error_page)
    app.jinja_env.globals.update(current_user=current_user, csrf_token=csrf_token, nav_items=nav_items,
                              admin_nav_items=admin_nav_items)
