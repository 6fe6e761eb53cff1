"""/app/account: the signed-in user's own settings: the daily email of their open cases (and where to change
their password)."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from bot.digest import set_digest
from bot.pages.web import current_user
from bot.runtime import runtime


def account() -> tuple[str, int]:
    rt = runtime()
    return render_template("app/account.html", me=current_user(), digest_hour=rt.settings.digest_hour,
                           email_running="email" in rt.channels), 200


def digest() -> Response:
    me = current_user()
    assert me is not None  # under /app: signed in
    on = request.form.get("digest") == "on"
    set_digest(runtime(), me.id, on)
    flash("You will get the daily email of your open cases." if on else "The daily email is off.")
    return redirect(url_for("account.account"), 303)


def account_blueprint() -> Blueprint:
    bp = Blueprint("account", __name__, url_prefix="/app/account")
    bp.add_url_rule("", "account", account, methods=["GET"])
    bp.add_url_rule("/digest", "digest", digest, methods=["POST"])
    return bp
