"""/app itself, and the Cases page (for now a placeholder the support inbox replaces)."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template


def home() -> Response:
    return redirect("/app/cases", 303)


def cases() -> str:
    return render_template("app/cases.html")


def home_blueprint() -> Blueprint:
    bp = Blueprint("home", __name__)
    bp.add_url_rule("/app", "home", home, methods=["GET"])
    bp.add_url_rule("/app/cases", "cases", cases, methods=["GET"])
    return bp
