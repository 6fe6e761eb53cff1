"""The flow editor's live preview: the question as each channel of the flow shows it, for the text as typed.

Without scripts the editor's Preview button renders the whole page again with it; the page's script posts
the same form to /app/flows/preview as you type and swaps in the fragment. The email's HTML is shown in a
sandboxed frame from its own endpoint with its own policy (inline styles are what mail clients need, and the
app's policy forbids them): the app's pages keep their strict policy, and the email runs no script either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, render_template, request
from sqlmodel import Session

from bot.flow_admin import parse_flow_text
from bot.flow_preview import Preview, preview_flow
from bot.http_json import ApiError
from bot.pages.sandbox_trigger import format_properties, parse_properties
from bot.pages.web import admin_required
from bot.runtime import Runtime, runtime
from flows.loader import FlowError
from flows.triggers import example_properties

# The email preview is a document of its own: no script, nothing remote, framed only by our own pages.
EMAIL_PREVIEW_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                               "frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox",
    "X-Frame-Options": "SAMEORIGIN",
}


def _render(rt: Runtime, session: Session, key: str | None, text: str, form: Mapping[str, str],
            use_example: bool) -> dict[str, Any]:
    contact = form.get("contact", "").strip()
    values: dict[str, Any] = {"contact": contact, "properties": form.get("properties", ""), "preview": None,
                              "preview_problem": None, "live_problems": []}
    try:
        definition = parse_flow_text(text, key)
    except FlowError as error:
        values["preview_problem"] = "The preview shows once the flow has no problems:"
        values["live_problems"] = [{"line": p.line, "field": p.path, "message": p.message} for p in error.problems]
        return values
    except RecursionError:
        values["preview_problem"] = "The preview shows once the flow has no problems: it is nested too deeply."
        return values
    if use_example:
        values["properties"] = format_properties(example_properties(definition))
    try:
        properties = parse_properties(values["properties"])
    except ApiError as exc:
        values["preview_problem"] = "Event properties: " + (exc.details[0]["message"] if exc.details else exc.message)
        return values
    values["preview"] = preview_flow(rt, session, definition, contact or None, properties)
    return values


def preview_values(rt: Runtime, session: Session, key: str | None, text: str, form: Mapping[str, str],
                   from_form: bool) -> dict[str, Any]:
    """The editor's preview fields and the preview itself: from the form when it was sent with Preview or
    Save, else with example properties that satisfy the flow's trigger."""
    return _render(rt, session, key, text, form, use_example=not from_form)


def _posted() -> tuple[str | None, str]:
    key = request.form.get("key") or None
    return key, request.form.get("yaml", "").replace("\r\n", "\n")


@admin_required
def fragment() -> str:
    rt = runtime()
    key, text = _posted()
    with rt.session() as session:
        values = _render(rt, session, key, text, request.form, use_example=False)
    return render_template("app/_flow_preview.html", **values)


@admin_required
def email() -> Response:
    rt = runtime()
    key, text = _posted()
    with rt.session() as session:
        values = _render(rt, session, key, text, request.form, use_example=False)
    preview: Preview | None = values["preview"]
    shown = next((c for c in preview.channels if c.channel == "email" and c.html), None) if preview else None
    html = shown.html if shown and shown.html else (
        "<!doctype html><title>No email</title><p>The flow has no email to show: "
        "it does not use email, or it has a problem.</p>")
    return Response(html, 200, EMAIL_PREVIEW_HEADERS, mimetype="text/html")


def register_preview(bp: Blueprint) -> None:
    """Under /-/, which no flow key can be (a key is a slug), so no flow's page is shadowed."""
    bp.add_url_rule("/-/preview", "preview", fragment, methods=["POST"])
    bp.add_url_rule("/-/preview/email", "preview_email", email, methods=["POST"])
