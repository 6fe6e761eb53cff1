"""/app itself: the start page is the inbox of cases."""

from __future__ import annotations

from flask import Blueprint, Response, redirect


def home() -> Response:
    return redirect("/app/cases", 303)


def home_blueprint() -> Blueprint:
    bp = Blueprint("home", __name__)
    bp.add_url_rule("/app", "home", home, methods=["GET"])
    return bp
