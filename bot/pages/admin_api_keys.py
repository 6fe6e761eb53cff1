"""/app/admin/api-keys: API keys by name with their scopes and last use; a new key is shown once, on the page that
answers the form (never flashed: the session cookie would carry it); revoking holds at once in every process."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from bot.apikeys import ApiKeyNotFound, create_key, keys, revoke_key
from bot.errors import InvalidValue
from bot.pages.web import PageError, actor, admin_required
from bot.runtime import runtime
from storage.apikeys import ADMIN, CASES, EVENTS_WRITE, READ, scope_list

SCOPE_CHOICES = [
    (EVENTS_WRITE, "events:write – send events in"),
    (READ, "read – figures, answers and configuration"),
    (CASES, "cases – work follow-up cases (a helpdesk)"),
    (ADMIN, "admin – everything, erasure and keys included"),
]


def _page(status: int = 200, *, new_key: tuple[str, str] | None = None, form: dict | None = None,
          errors: dict[str, str] | None = None) -> tuple[str, int]:
    with runtime().session() as session:
        listed = [(key, scope_list(key.scopes)) for key in keys(session)]
    return render_template("app/admin_api_keys.html", keys=listed, scopes=SCOPE_CHOICES, new_key=new_key,
                           form=form or {"name": "", "scopes": []}, errors=errors or {}), status


@admin_required
def api_keys() -> tuple[str, int]:
    return _page()


@admin_required
def create() -> tuple[str, int]:
    form = {"name": request.form.get("name", ""), "scopes": request.form.getlist("scopes")}
    errors = {}
    if not form["scopes"]:
        errors["scopes"] = "Choose at least one scope"
    elif not set(form["scopes"]) <= {value for value, _ in SCOPE_CHOICES}:
        errors["scopes"] = "Choose scopes from the list"
    if not errors:
        try:
            with runtime().session() as session:
                key = create_key(session, form["name"], form["scopes"], actor=actor())
            return _page(201, new_key=(form["name"].strip(), key))
        except InvalidValue as exc:
            errors[exc.field] = f"{exc.field.capitalize()} {exc.message}"
    return _page(422, form=form, errors=errors)


@admin_required
def revoke(key_id: int) -> Response:
    with runtime().session() as session:
        try:
            key, _, already = revoke_key(session, key_id, actor=actor())
        except ApiKeyNotFound:
            raise PageError(404, "No such API key", "This API key does not exist.") from None
        name = key.name
    flash(f"The API key {name} {'was already' if already else 'is'} revoked: every request with it is refused.")
    return redirect(url_for("admin_api_keys.api_keys"), 303)


def admin_api_keys_blueprint() -> Blueprint:
    bp = Blueprint("admin_api_keys", __name__, url_prefix="/app/admin/api-keys")
    bp.add_url_rule("", "api_keys", api_keys, methods=["GET"])
    bp.add_url_rule("", "create", create, methods=["POST"])
    bp.add_url_rule("/<int:key_id>/revoke", "revoke", revoke, methods=["POST"])
    return bp
