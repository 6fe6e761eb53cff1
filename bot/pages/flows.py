"""/app/flows: admins list, create, edit, enable, disable and roll back flows in the browser.

A flow is still YAML: the editor shows the current version's YAML and saves what is typed as a new version
(bot.flow_admin), with the loader's problems shown beside the text, each naming its line. The live preview
(bot.pages.flow_preview) renders the text as typed, saved or not.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from bot.errors import InvalidValue, NotFound
from bot.flow_admin import (
    flow_yaml,
    list_versions,
    roll_back,
    save_flow_text,
    set_enabled,
    version_diff,
)
from bot.flow_tests import channels_for_tests, send_test
from bot.insights import funnel
from bot.pages.flow_preview import preview_values, register_preview
from bot.pages.web import PageError, actor, admin_required, current_user
from bot.runtime import runtime
from flows.loader import FlowError
from storage.flow_versions import current_flow, current_flows
from storage.types import utcnow

FUNNEL_DAYS = 30
NEW_FLOW = """key: my-flow
name: My new flow
enabled: false
trigger:
  event: order.delivered
channels: [sms, email]
question:
  kind: nps
  text:
    en: "How likely are you to recommend us to a friend? Reply 0-10."
"""


def _missing(key: str) -> PageError:
    return PageError(404, "No such flow", f"There is no flow {key}. It may have been renamed or never saved.")


@admin_required
def flows() -> str:
    rt = runtime()
    since = (utcnow() - timedelta(days=FUNNEL_DAYS)).date()
    counts = {f.group: {step.name: step.count for step in f.steps} for f in funnel(rt, since=since, by="flow")}
    with rt.session() as session:
        rows = [{"key": f.key, "name": f.name, "enabled": f.enabled, "version": f.version,
                 "channels": rt.definition(f).channels, "saved": f.created_at,
                 "sent": counts.get(f.key, {}).get("sent", 0), "answered": counts.get(f.key, {}).get("answered", 0)}
                for f in current_flows(session)]
    return render_template("app/flows.html", flows=rows, days=FUNNEL_DAYS)


def problems_of(error: FlowError, text: str) -> list[dict[str, Any]]:
    """Each problem with the text of its line, so the page can quote the line it means."""
    lines = text.splitlines()
    return [{"line": p.line, "field": p.path, "message": p.message,
             "quote": lines[p.line - 1] if p.line and 0 < p.line <= len(lines) else None}
            for p in error.problems]


def _editor(key: str | None, text: str, status: int = 200, problems: list[dict[str, Any]] | None = None,
            preview: bool = False, test: dict[str, Any] | None = None) -> tuple[str, int]:
    rt = runtime()
    with rt.session() as session:
        flow = current_flow(session, key) if key else None
        if key and flow is None:
            raise _missing(key)
        info = {"key": flow.key, "version": flow.version, "enabled": flow.enabled, "name": flow.name} if flow else None
        form = request.form if request.method == "POST" and preview else {}
        values = preview_values(rt, session, key, text, form, preview)
        if flow is not None and test is None:
            test = _test_form(rt.definition(flow).channels)
    return render_template("app/flow_edit.html", key=key, flow=info, text=text, problems=problems or [],
                           test=test, sent=_sent(), **values), status


def _test_form(flow_channels: list[str], channel: str = "", address: str = "", error: str | None = None,
               field: str | None = None) -> dict[str, Any]:
    """The "Send me a test" form: the flow's own channels first, the admin's email filled in for email."""
    usable = channels_for_tests(runtime())
    choices = [c for c in flow_channels if c in usable] + [c for c in usable if c not in flow_channels]
    channel = channel or (choices[0] if choices else "")
    user = current_user()
    if not address and channel == "email" and user is not None:
        address = user.email
    return {"channels": choices, "channel": channel, "address": address, "error": error, "field": field,
            "sandboxed": runtime().sandbox_channels}


def _sent() -> dict[str, Any] | None:
    channel = request.args.get("tested", "")
    if channel not in runtime().channels:
        return None
    return {"channel": channel, "sandboxed": runtime().channels[channel].sandboxed}


@admin_required
def new() -> tuple[str, int]:
    return _editor(None, NEW_FLOW)


@admin_required
def edit(key: str) -> tuple[str, int]:
    with runtime().session() as session:
        flow = current_flow(session, key)
        if flow is None:
            raise _missing(key)
        text = flow_yaml(flow)
    return _editor(key, text)


def _save(key: str | None) -> Response | tuple[str, int]:
    text = request.form.get("yaml", "").replace("\r\n", "\n")
    if request.form.get("action") == "preview":
        return _editor(key, text, preview=True)
    try:
        with runtime().session() as session:
            saved = save_flow_text(session, text, key, new=key is None, actor=actor())
    except FlowError as error:
        return _editor(key, text, 422, problems_of(error, text), preview=True)
    except RecursionError:
        return _editor(key, text, 422, [{"line": None, "field": "", "message": "the flow is nested too deeply",
                                          "quote": None}])
    if saved.changed:
        flash(f"Saved {saved.key} as version {saved.version}.")
    else:
        flash(f"Nothing changed: {saved.key} stays at version {saved.version}.")
    return redirect(url_for("flows.edit", key=saved.key), 303)


@admin_required
def create() -> Response | tuple[str, int]:
    return _save(None)


@admin_required
def update(key: str) -> Response | tuple[str, int]:
    return _save(key)


def _switch(key: str, enabled: bool) -> Response:
    try:
        with runtime().session() as session:
            saved = set_enabled(session, key, enabled, actor=actor())
    except NotFound:
        raise _missing(key) from None
    word = "enabled" if enabled else "disabled"
    flash(f"{key} is {word} (version {saved.version})." if saved.changed else f"{key} was already {word}.")
    return redirect(url_for("flows.edit", key=key), 303)


@admin_required
def enable(key: str) -> Response:
    return _switch(key, True)


@admin_required
def disable(key: str) -> Response:
    return _switch(key, False)


@admin_required
def versions(key: str) -> str:
    chosen = request.args.get("version", type=int)
    try:
        with runtime().session() as session:
            found = list_versions(session, key)
            chosen = chosen if chosen in {f.version for f in found} else found[0].version
            diff = version_diff(session, key, chosen)
            rows = [{"version": f.version, "name": f.name, "enabled": f.enabled, "current": f.current,
                     "saved": f.created_at} for f in found]
    except NotFound:
        raise _missing(key) from None
    return render_template("app/flow_versions.html", key=key, versions=rows, chosen=chosen, diff=diff)


@admin_required
def rollback(key: str, version: int) -> Response:
    try:
        with runtime().session() as session:
            saved = roll_back(session, key, version, actor=actor())
    except NotFound:
        raise PageError(404, "No such version", f"Flow {key} has no version {version}.") from None
    if saved.changed:
        flash(f"Rolled {key} back to version {version}: it is now version {saved.version}.")
    else:
        flash(f"Version {version} is what {key} is already; nothing changed.")
    return redirect(url_for("flows.versions", key=key), 303)


@admin_required
def test(key: str) -> Response | tuple[str, int]:
    channel, address = request.form.get("channel", ""), request.form.get("address", "")
    user = current_user()
    assert user is not None
    try:
        send_test(runtime(), key, channel, address, user.id)
    except NotFound:
        raise _missing(key) from None
    except InvalidValue as problem:
        with runtime().session() as session:
            flow = current_flow(session, key)
            assert flow is not None
            text, channels = flow_yaml(flow), runtime().definition(flow).channels
        form = _test_form(channels, channel, address, problem.message, problem.field)
        return _editor(key, text, 422, test=form)
    return redirect(url_for("flows.edit", key=key, tested=channel) + "#send-test", 303)


def flows_blueprint() -> Blueprint:
    bp = Blueprint("flows", __name__, url_prefix="/app/flows")
    bp.add_url_rule("", "flows", flows, methods=["GET"])
    bp.add_url_rule("/new", "new", new, methods=["GET"])
    bp.add_url_rule("/new", "create", create, methods=["POST"])
    register_preview(bp)
    bp.add_url_rule("/<key>", "edit", edit, methods=["GET"])
    bp.add_url_rule("/<key>", "update", update, methods=["POST"])
    bp.add_url_rule("/<key>/enable", "enable", enable, methods=["POST"])
    bp.add_url_rule("/<key>/disable", "disable", disable, methods=["POST"])
    bp.add_url_rule("/<key>/test", "test", test, methods=["POST"])
    bp.add_url_rule("/<key>/versions", "versions", versions, methods=["GET"])
    bp.add_url_rule("/<key>/versions/<int:version>/rollback", "rollback", rollback, methods=["POST"])
    return bp
