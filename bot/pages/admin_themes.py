"""/app/admin/themes: the themes the worker proposes from comments no theme covers. An admin reads each one's
typical words and example comments and accepts it under a name (with keywords), rejects it, or merges several;
the same services as the API and the CLI (bot.discovery)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from bot.discovery import accept, discover, merge, reject, shown
from bot.errors import InvalidValue, NotFound, ServiceError
from bot.pages.web import PageError, admin_required
from bot.runtime import runtime
from storage.themes import ACCEPTED


def _page(status: int = 200, *, error: str | None = None, form: dict[str, Any] | None = None) -> tuple[str, int]:
    rt = runtime()
    return render_template("app/admin_themes.html", proposals=shown(rt, "proposed"), accepted=shown(rt, ACCEPTED),
                           error=error, form=form or {}), status


def _done(message: str) -> Response:
    flash(message)
    return redirect(url_for("admin_themes.themes"), 303)


def _try(action: Any, form: dict[str, Any]) -> Any:
    try:
        return action()
    except NotFound:
        raise PageError(404, "No such proposal", "This theme proposal does not exist (any more).") from None
    except ServiceError as exc:
        status = 422 if isinstance(exc, InvalidValue) else 409
        return _page(status, error=exc.message[:1].upper() + exc.message[1:], form=form)


@admin_required
def themes() -> tuple[str, int]:
    return _page()


@admin_required
def propose_now() -> Response | tuple[str, int]:
    count = discover(runtime())
    return _done(f"{count} themes proposed." if count else "Too few comments without a theme to propose any yet.")


@admin_required
def accept_one(proposal_id: int) -> Response | tuple[str, int]:
    name = request.form.get("name", "")
    keywords = [k.strip() for k in request.form.get("keywords", "").split(",") if k.strip()]
    form = {"id": proposal_id, "name": name, "keywords": request.form.get("keywords", "")}
    row = _try(lambda: accept(runtime(), proposal_id, name, keywords or None), form)
    if isinstance(row, tuple):
        return row
    return _done(f"{row.name} is a theme now: {', '.join(row.keywords or [])}.")


@admin_required
def reject_one(proposal_id: int) -> Response | tuple[str, int]:
    row = _try(lambda: reject(runtime(), proposal_id), {})
    return row if isinstance(row, tuple) else _done(f"Proposal {proposal_id} is rejected.")


@admin_required
def merge_some() -> Response | tuple[str, int]:
    ids = [int(i) for i in request.form.getlist("merge") if i.isdigit() and len(i) < 10]
    row = _try(lambda: merge(runtime(), ids), {})
    return row if isinstance(row, tuple) else _done(f"Merged into proposal {row.id}.")


def admin_themes_blueprint() -> Blueprint:
    bp = Blueprint("admin_themes", __name__, url_prefix="/app/admin/themes")
    bp.add_url_rule("", "themes", themes, methods=["GET"])
    bp.add_url_rule("/discover", "discover", propose_now, methods=["POST"])
    bp.add_url_rule("/merge", "merge", merge_some, methods=["POST"])
    bp.add_url_rule("/<int:proposal_id>/accept", "accept", accept_one, methods=["POST"])
    bp.add_url_rule("/<int:proposal_id>/reject", "reject", reject_one, methods=["POST"])
    return bp
