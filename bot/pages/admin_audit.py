"""/app/admin/audit: who changed which flow, queue, user, API key, webhook, consent or setting, and when."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from bot.audit import KINDS, audit_page
from bot.pages.web import admin_required
from bot.runtime import runtime


@admin_required
def audit() -> tuple[str, int]:
    kind = request.args.get("kind") or None
    before_text = request.args.get("before", "")
    errors = {}
    if kind is not None and kind not in KINDS:
        errors["kind"] = "Show must be one of the kinds listed"
        kind = None
    before = int(before_text) if before_text.isdigit() and len(before_text) <= 10 else None
    with runtime().session() as session:
        page = audit_page(session, kind, before)
    return render_template("app/admin_audit.html", page=page, kinds=KINDS, kind=kind or "", errors=errors,
                           first=before is None), 422 if errors else 200


def admin_audit_blueprint() -> Blueprint:
    bp = Blueprint("admin_audit", __name__, url_prefix="/app/admin/audit")
    bp.add_url_rule("", "audit", audit, methods=["GET"])
    return bp
