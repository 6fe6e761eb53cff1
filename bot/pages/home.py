"""/app itself: the start page is the inbox of cases; /app/admin lists the admin pages."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template

from bot.pages.web import ADMIN_NAV


def home() -> Response:
    return redirect("/app/cases", 303)


def admin_home() -> str:
    """The admin pages share one item of the main navigation; this page says what each is for."""
    return render_template("app/admin.html", admin_pages=ADMIN_NAV)


def home_blueprint() -> Blueprint:
    bp = Blueprint("home", __name__)
    bp.add_url_rule("/app", "home", home, methods=["GET"])
    bp.add_url_rule("/app/admin", "admin", admin_home, methods=["GET"])
    return bp
