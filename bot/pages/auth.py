"""Signing in and out, and choosing one's own password (at once after signing in with a one-time password)."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from bot.errors import PasswordRejected, SignInRefused, TooManySignIns
from bot.pages.web import HOME, current_user, end_session, safe_next, start_session
from bot.runtime import runtime
from bot.users import MIN_PASSWORD_LENGTH, change_password, sign_in, sign_out

PASSWORD_LABELS = {"current_password": "Current password", "new_password": "New password",
                   "new_password_again": "Repeat the new password"}


def login() -> Response | tuple[str, int]:
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user() is not None:
            return redirect(next_url or HOME, 303)
        return render_template("app/login.html", next=next_url, email="", errors={}, problem=None), 200
    email, password = request.form.get("email", ""), request.form.get("password", "")
    errors = {name: "Enter your " + name for name, value in (("email", email.strip()), ("password", password))
              if not value}
    if errors:
        return render_template("app/login.html", next=next_url, email=email, errors=errors, problem=None), 422
    try:
        account = sign_in(runtime(), email, password, request.remote_addr or "")
    except TooManySignIns as exc:
        page = render_template("app/login.html", next=next_url, email=email, errors={}, problem=exc.message)
        return Response(page, 429, {"Retry-After": str(exc.retry_after)})
    except SignInRefused as exc:
        return render_template("app/login.html", next=next_url, email=email, errors={}, problem=exc.message), 401
    start_session(account)
    if account.must_change_password:
        return redirect(_password_url(next_url), 303)
    return redirect(next_url or HOME, 303)


def logout() -> Response:
    user = current_user()
    if user is not None:
        sign_out(runtime(), user.id)
    end_session()
    flash("You are signed out.")
    return redirect(url_for("auth.login"), 303)


def password() -> Response | tuple[str, int]:
    user = current_user()
    assert user is not None  # under /app: signed in
    forced = user.must_change_password
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        return _password_page(forced, next_url, {}), 200
    current = request.form.get("current_password", "")
    new, again = request.form.get("new_password", ""), request.form.get("new_password_again", "")
    errors: dict[str, str] = {}
    if not forced and not current:
        errors["current_password"] = "Enter your current password"
    if not new:
        errors["new_password"] = "Enter a new password"
    elif new != again:
        errors["new_password_again"] = "The two new passwords are not the same"
    if not errors:
        try:
            account = change_password(runtime(), user.id, new, current=None if forced else current)
        except PasswordRejected as exc:
            errors[exc.field] = f"{PASSWORD_LABELS.get(exc.field, 'Password')} {exc.message}"
    if errors:
        return _password_page(forced, next_url, errors), 422
    start_session(account)  # every other session of theirs has ended; this one goes on
    flash("Your password is changed.")
    return redirect(next_url or HOME, 303)


def _password_page(forced: bool, next_url: str | None, errors: dict[str, str]) -> str:
    return render_template("app/password.html", forced=forced, next=next_url, errors=errors,
                           labels=PASSWORD_LABELS, min_length=MIN_PASSWORD_LENGTH)


def _password_url(next_url: str | None) -> str:
    return url_for("auth.password", next=next_url) if next_url else url_for("auth.password")


def auth_blueprint() -> Blueprint:
    bp = Blueprint("auth", __name__)
    bp.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    bp.add_url_rule("/logout", "logout", logout, methods=["POST"])
    bp.add_url_rule("/app/account/password", "password", password, methods=["GET", "POST"])
    return bp
