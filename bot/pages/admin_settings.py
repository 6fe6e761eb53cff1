"""/app/admin/settings: how long answers' personal data is kept (overriding TOUCHPOINT_RETAIN_TEXT_DAYS)."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from bot.errors import InvalidValue
from bot.pages.web import actor, admin_required
from bot.retention import MAX_DAYS, set_text_retention, text_retention
from bot.runtime import runtime


def _page(status: int = 200, value: str | None = None, errors: dict[str, str] | None = None) -> tuple[str, int]:
    rt = runtime()
    with rt.session() as session:
        retention = text_retention(rt, session)
    shown = value if value is not None else ("" if retention.stored is None else str(retention.stored))
    return render_template("app/admin_settings.html", retention=retention, value=shown, max_days=MAX_DAYS,
                           errors=errors or {}), status


@admin_required
def settings() -> tuple[str, int]:
    return _page()


@admin_required
def save() -> Response | tuple[str, int]:
    text = request.form.get("days", "").strip()
    if text and not (text.isdigit() and len(text) <= 5):
        return _page(422, text, {"days": f"Days must be a whole number of days from 1 to {MAX_DAYS}, or empty"})
    rt = runtime()
    try:
        with rt.session() as session:
            set_text_retention(rt, session, int(text) if text else None, actor=actor())
    except InvalidValue as exc:
        return _page(422, text, {"days": f"Days {exc.message}"})
    flash("Saved. The worker applies it on its next retention pass.")
    return redirect(url_for("admin_settings.settings"), 303)


def admin_settings_blueprint() -> Blueprint:
    bp = Blueprint("admin_settings", __name__, url_prefix="/app/admin/settings")
    bp.add_url_rule("", "settings", settings, methods=["GET"])
    bp.add_url_rule("", "save", save, methods=["POST"])
    return bp
