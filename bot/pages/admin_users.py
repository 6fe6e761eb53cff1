"""/app/admin/users: who can sign in. Admins create users (the one-time password is shown once, on the page that
answers the form), disable and enable them, and reset their passwords."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from bot.errors import LastAdmin, NotFound, UserExists
from bot.pages.web import PageError, actor, admin_required, current_user
from bot.runtime import runtime
from bot.users import NewPassword, list_users, normalize_email, reset_password, set_disabled
from bot.users import create_user as create_account
from storage.models import Role

ROLES = [(Role.AGENT.value, "Agent: works cases"), (Role.ADMIN.value, "Admin: everything, users included")]


def _page(status: int = 200, *, new_password: NewPassword | None = None, form: dict[str, str] | None = None,
          errors: dict[str, str] | None = None) -> tuple[str, int]:
    rt = runtime()
    return render_template("app/admin_users.html", users=list_users(rt), me=current_user(), roles=ROLES,
                           login_url=rt.settings.public_url + url_for("auth.login"),
                           new_password=new_password, form=form or {"email": "", "role": Role.AGENT.value},
                           errors=errors or {}), status


@admin_required
def users() -> tuple[str, int]:
    return _page()


@admin_required
def create() -> tuple[str, int]:
    form = {"email": request.form.get("email", ""), "role": request.form.get("role", "")}
    errors: dict[str, str] = {}
    email = ""
    try:
        email = normalize_email(form["email"])
    except ValueError as exc:
        errors["email"] = f"Email {exc}"
    if form["role"] not in {value for value, _ in ROLES}:
        errors["role"] = "Role must be agent or admin"
    if errors:
        return _page(422, form=form, errors=errors)
    try:
        made = create_account(runtime(), email, Role(form["role"]), one_time=True, actor=actor())
    except UserExists:
        return _page(409, form=form, errors={"email": f"A user with the email {email} already exists"})
    return _page(201, new_password=made)


def _change(user_id: int, action: Any) -> Any:
    me = current_user()
    if me is not None and me.id == user_id:
        raise PageError(409, "Not on your own account",
                        "Another admin can do this for you; to change your own password use Change password.")
    try:
        return action(user_id)
    except NotFound:
        raise PageError(404, "No such user", "This user does not exist (any more).") from None
    except LastAdmin as exc:
        raise PageError(409, "The last admin stays", exc.message) from None


@admin_required
def disable(user_id: int) -> Response:
    account = _change(user_id, lambda who: set_disabled(runtime(), who, True, actor=actor()))
    flash(f"{account.email} is disabled and signed out everywhere.")
    return redirect(url_for("admin_users.users"), 303)


@admin_required
def enable(user_id: int) -> Response:
    account = _change(user_id, lambda who: set_disabled(runtime(), who, False, actor=actor()))
    flash(f"{account.email} can sign in again.")
    return redirect(url_for("admin_users.users"), 303)


@admin_required
def reset(user_id: int) -> tuple[str, int]:
    made = _change(user_id, lambda who: reset_password(runtime(), who, actor=actor()))
    return _page(new_password=made)


def admin_users_blueprint() -> Blueprint:
    bp = Blueprint("admin_users", __name__, url_prefix="/app/admin/users")
    bp.add_url_rule("", "users", users, methods=["GET"])
    bp.add_url_rule("", "create", create, methods=["POST"])
    bp.add_url_rule("/<int:user_id>/disable", "disable", disable, methods=["POST"])
    bp.add_url_rule("/<int:user_id>/enable", "enable", enable, methods=["POST"])
    bp.add_url_rule("/<int:user_id>/reset-password", "reset_password", reset, methods=["POST"])
    return bp
