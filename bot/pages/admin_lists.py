"""/app/admin/root-causes and /app/admin/saved-replies: the two lists admins keep for casework, through the same
services as the API and the CLI (bot.case_admin). A refusal (a taken name, an unknown placeholder, an empty text)
comes back on the page with the field named and what the admin typed kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from bot.case_admin import (
    add_root_cause,
    check_name,
    check_reply_text,
    remove_root_cause,
    remove_saved_reply,
    root_causes,
    save_reply,
    saved_replies,
    saved_reply,
)
from bot.errors import AlreadyExists, InvalidValue, NotFound
from bot.runtime import runtime

Page = tuple[str, int]


def _form(*names: str) -> dict[str, str]:
    return {name: request.form.get(name, "") for name in names}


def _checked(check: Callable[[str], str], value: str, label: str, field: str, errors: dict[str, str]) -> str:
    try:
        return check(value)
    except ValueError as exc:
        errors[field] = f"{label} {exc}"
        return ""


# --- root causes -----------------------------------------------------------------------------------------------


def _causes_page(status: int = 200, *, form: dict[str, str] | None = None,
                 errors: dict[str, str] | None = None) -> Page:
    with runtime().session() as session:
        causes = root_causes(session)
    return render_template("app/admin_root_causes.html", causes=causes, form=form or {"name": ""},
                           errors=errors or {}), status


def causes() -> Page:
    return _causes_page()


def add_cause() -> Page | Response:
    form = _form("name")
    errors: dict[str, str] = {}
    name = _checked(check_name, form["name"], "Name", "name", errors)
    if errors:
        return _causes_page(422, form=form, errors=errors)
    try:
        with runtime().session() as session:
            added = add_root_cause(session, name)
    except AlreadyExists:
        return _causes_page(409, form=form, errors={"name": f"Name {name} is on the list already"})
    flash(f"Root cause {added} is added.")
    return redirect(url_for("admin_lists.causes"), 303)


def remove_cause() -> Page | Response:
    name = request.form.get("name", "")
    try:
        with runtime().session() as session:
            removed = remove_root_cause(session, name)
    except NotFound:
        flash(f"Root cause {name} was not on the list (any more).")
        return redirect(url_for("admin_lists.causes"), 303)
    flash(f"Root cause {removed} is off the list; cases resolved with it keep it.")
    return redirect(url_for("admin_lists.causes"), 303)


# --- saved replies -----------------------------------------------------------------------------------------------


def _replies_page(status: int = 200, *, form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                  edits: dict[str, str] | None = None) -> Page:
    """`edits`: a reply's text as the admin last typed it, by reply name (kept when the edit was refused)."""
    with runtime().session() as session:
        replies = [{"id": r.id, "name": r.name, "text": (edits or {}).get(r.name, r.text)}
                   for r in saved_replies(session)]
    return render_template("app/admin_saved_replies.html", replies=replies, form=form or {"name": "", "text": ""},
                           errors=errors or {}), status


def replies() -> Page:
    return _replies_page()


def _save(name: str, text: str, replace: bool) -> tuple[str, bool]:
    with runtime().session() as session:
        if replace:
            saved_reply(session, name)  # an edit of a reply removed meanwhile must not make it again
        stored, created = save_reply(session, name, text, replace)
        return stored.name, created


def add_reply() -> Page | Response:
    form = _form("name", "text")
    errors: dict[str, str] = {}
    name = _checked(check_name, form["name"], "Name", "name", errors)
    text = _checked(check_reply_text, form["text"], "Text", "text", errors)
    if errors:
        return _replies_page(422, form=form, errors=errors)
    try:
        saved, _ = _save(name, text, replace=False)
    except AlreadyExists:
        return _replies_page(409, form=form, errors={"name": f"Name {name} is taken: edit that reply below"})
    except InvalidValue as exc:
        return _replies_page(422, form=form, errors={"text": f"Text: {exc.message}"})
    flash(f"Saved reply {saved} is added.")
    return redirect(url_for("admin_lists.replies"), 303)


def edit_reply(reply_id: int) -> Page | Response:
    name, typed = request.form.get("name", ""), request.form.get("text", "")
    field = f"text-{reply_id}"
    errors: dict[str, str] = {}
    text = _checked(check_reply_text, typed, f"Text of {name}", field, errors)
    try:
        if not errors:
            saved, _ = _save(name, text, replace=True)
            flash(f"Saved reply {saved} is changed.")
            return redirect(url_for("admin_lists.replies"), 303)
    except NotFound:
        flash(f"Saved reply {name} does not exist (any more).")
        return redirect(url_for("admin_lists.replies"), 303)
    except InvalidValue as exc:
        errors[field] = f"Text of {name}: {exc.message}"
    return _replies_page(422, errors=errors, edits={name: typed})


def remove_reply() -> Response:
    name = request.form.get("name", "")
    try:
        with runtime().session() as session:
            removed = remove_saved_reply(session, name)
    except NotFound:
        flash(f"Saved reply {name} does not exist (any more).")
    else:
        flash(f"Saved reply {removed} is removed.")
    return redirect(url_for("admin_lists.replies"), 303)


def admin_lists_blueprint() -> Blueprint:
    bp = Blueprint("admin_lists", __name__, url_prefix="/app/admin")
    routes: list[tuple[str, str, Any, str]] = [
        ("/root-causes", "causes", causes, "GET"), ("/root-causes", "add_cause", add_cause, "POST"),
        ("/root-causes/remove", "remove_cause", remove_cause, "POST"),
        ("/saved-replies", "replies", replies, "GET"), ("/saved-replies", "add_reply", add_reply, "POST"),
        ("/saved-replies/<int:reply_id>", "edit_reply", edit_reply, "POST"),
        ("/saved-replies/remove", "remove_reply", remove_reply, "POST"),
    ]
    for rule, endpoint, view, method in routes:
        bp.add_url_rule(rule, endpoint, view, methods=[method])
    return bp
