"""/app/cases: the support inbox and the case page, where agents close the loop with unhappy customers.

The pages call the same services as the API and the Slack card (bot.followups), so whichever surface changes a
case, the others show it. A service's refusal (a resolved case, an opted-out customer, a provider that said no, a
root cause off the list) is shown on the case page with what the agent typed kept, never as an error page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from bot.case_admin import root_causes
from bot.errors import (
    CaseClosed,
    CaseNotFound,
    CaseNotResolved,
    CustomerOptedOut,
    CustomerUnreachable,
    InvalidValue,
    ProviderRefused,
    ServiceError,
    UnknownTheme,
)
from bot.followups import (
    add_note,
    assign_case,
    case_thread_of,
    claim_case,
    reopen_case,
    reply_channels,
    reply_to_customer,
    resolve_case,
    saved_replies_for_case,
)
from bot.learning import correct_response, known_themes
from bot.pages.web import PageError, current_user
from bot.runtime import runtime
from bot.users import list_users
from storage.cases import (
    UNRESOLVED,
    CaseCursor,
    CaseFilters,
    contact_answers,
    latest_recheck_answer,
    list_cases,
    queue_counts,
)
from storage.followups import case_with_context, list_queues
from storage.types import utcnow

PAGE = 50
DUE_SOON = timedelta(hours=4)
REFRESH_SECONDS = 15
STATUSES = [(UNRESOLVED, "Open or claimed"), ("open", "Open (nobody has it)"), ("claimed", "Claimed"),
            ("resolved", "Resolved"), ("", "Any status")]
PRIORITIES = ["urgent", "high", "normal", "low"]
BANDS = ["detractor", "passive", "promoter"]
SENTIMENTS = ["negative", "neutral", "positive"]
ASSIGNEES = [("", "Anyone"), ("me", "Me"), ("unassigned", "Unassigned")]
# How each refusal reads as an HTTP status on the page that shows it.
STATUS_OF: dict[type[ServiceError], int] = {CaseClosed: 409, CaseNotResolved: 409, CustomerOptedOut: 409,
                                           CustomerUnreachable: 409, InvalidValue: 422, ProviderRefused: 502,
                                           UnknownTheme: 422}


# --- the inbox -----------------------------------------------------------------------------------------------


@dataclass
class InboxQuery:
    """The inbox's filter form as sent, what it asks for, and what is wrong with it."""

    form: dict[str, str]
    filters: CaseFilters
    after: CaseCursor | None
    errors: dict[str, str]


def _day(form: dict[str, str], name: str, label: str, errors: dict[str, str]) -> datetime | None:
    text = form.get(name, "")
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    except ValueError:
        errors[name] = f"{label} must be a date like 2026-03-31"
        return None


def encode_cursor(due: datetime, case_id: int) -> str:
    return f"{int(due.timestamp() * 1_000_000)}.{case_id}"


def _cursor(text: str, errors: dict[str, str]) -> CaseCursor | None:
    if not text:
        return None
    micros, _, case_id = text.partition(".")
    try:
        return datetime.fromtimestamp(int(micros) / 1_000_000, UTC), int(case_id)
    except (ValueError, OverflowError, OSError):
        errors["after"] = "The page link is broken: go back to the first page"
        return None


def _choice(form: dict[str, str], name: str, label: str, allowed: list[str], errors: dict[str, str]) -> str | None:
    value = form.get(name, "")
    if value and value not in allowed:
        errors[name] = f"{label} must be one of: {', '.join(v for v in allowed if v)}"
        return None
    return value or None


def inbox_query(me: str, channels: list[str]) -> InboxQuery:
    names = ["queue", "status", "priority", "assignee", "flow", "channel", "band", "sentiment", "theme", "from",
             "to", "after"]
    form = {name: request.args.get(name, "").strip() for name in names}
    if "status" not in request.args:
        form["status"] = UNRESOLVED  # the inbox opens on the work still to do
    errors: dict[str, str] = {}
    status = _choice(form, "status", "Status", [value for value, _ in STATUSES], errors)
    assignee = _choice(form, "assignee", "Assignee", [value for value, _ in ASSIGNEES], errors)
    since, until = _day(form, "from", "Created from", errors), _day(form, "to", "Created to", errors)
    filters = CaseFilters(
        queue=form["queue"] or None,
        status=status,
        priority=_choice(form, "priority", "Priority", PRIORITIES, errors),
        assignee=me if assignee == "me" else None,
        unassigned=assignee == "unassigned",
        flow=form["flow"] or None,
        channel=_choice(form, "channel", "Channel", channels, errors),
        band=_choice(form, "band", "Band", BANDS, errors),
        sentiment=_choice(form, "sentiment", "Sentiment", SENTIMENTS, errors),
        theme=form["theme"] or None,
        created_since=since,
        created_until=until + timedelta(days=1) if until else None,  # "to" includes that day
    )
    return InboxQuery(form, filters, _cursor(form["after"], errors), errors)


def inbox() -> tuple[str, int]:
    rt = runtime()
    me = _me()
    channels = sorted(rt.channels)
    asked = inbox_query(me, channels)
    now = utcnow()
    with rt.session() as session:
        queues = list_queues(session)
        rows = [] if asked.errors else list_cases(session, asked.filters, after=asked.after, limit=PAGE + 1)
        counts = queue_counts(session, now, DUE_SOON)
        items = [_row(row, now) for row in rows[:PAGE]]
    next_url = None
    if len(rows) > PAGE:
        last = rows[PAGE - 1].followup
        assert last.id is not None
        next_url = url_for("cases.inbox", **_kept(asked.form), after=encode_cursor(last.due_at, last.id))
    context: dict[str, Any] = {
        "rows": items, "next_url": next_url, "form": asked.form, "errors": asked.errors, "channels": channels,
        "queues": [{"key": q.key, "name": q.name or q.key, "counts": counts.get(q.id or 0)} for q in queues],
        "statuses": STATUSES, "priorities": PRIORITIES, "bands": BANDS, "sentiments": SENTIMENTS,
        "assignees": ASSIGNEES, "first_page": not asked.after,
        "refresh_url": url_for("cases.inbox", **_kept(asked.form), after=asked.form["after"] or None,
                               fragment=1),
        "refresh_seconds": REFRESH_SECONDS, "due_soon_hours": int(DUE_SOON.total_seconds() // 3600),
    }
    status = 422 if asked.errors else 200
    if request.args.get("fragment") == "1":
        return render_template("app/_case_list.html", **context), status
    return render_template("app/cases.html", **context), status


def _kept(form: dict[str, str]) -> dict[str, str]:
    """The filters to carry into another link; an empty status is kept, since "any status" is a choice."""
    return {**{k: v for k, v in form.items() if v and k != "after"}, "status": form["status"]}


def _row(row: Any, now: datetime) -> dict[str, Any]:
    case, response = row.followup, row.response
    comment = response.comment or ""
    return {
        "id": case.id, "customer": row.customer or row.external_id, "external_id": row.external_id,
        "score": response.score, "band": response.band,
        "comment": comment if len(comment) <= 120 else comment[:117].rstrip() + "…",
        "queue": row.queue, "priority": case.priority, "assignee": case.assignee, "status": case.status,
        "due_at": case.due_at, "overdue": case.status != "resolved" and case.due_at < now,
    }


# --- the case page -------------------------------------------------------------------------------------------


def _me() -> str:
    user = current_user()
    assert user is not None  # /app needs a signed-in user
    return user.email


def _case_page(case_id: int, status: int = 200, *, error: str | None = None,
               form: dict[str, str] | None = None) -> tuple[str, int]:
    rt = runtime()
    teammates = [u.email for u in list_users(rt) if not u.disabled_at]
    with rt.session() as session:
        found = case_with_context(session, case_id)
        if found is None:
            raise PageError(404, "No such case", f"Case {case_id} does not exist (any more).")
        case, queue, response, contact = found
        assert contact.id is not None
        earlier = [a for a in contact_answers(session, contact.id, 21) if a.response.id != response.id][:20]
        thread = case_thread_of(session, case_id)
        resolved = case.status == "resolved"
        channels = [] if resolved else reply_channels(rt, session, case_id)
        saved = [] if resolved else saved_replies_for_case(rt, session, case_id)
        causes = root_causes(session)
        recheck = latest_recheck_answer(session, case_id)
        rt.refresh_themes(session.connection())  # an accepted theme is one to tick
        html = render_template(
            "app/case.html", case=case, queue=queue, response=response, contact=contact,
            addresses=sorted(contact.addresses.items()), earlier=earlier, thread=thread, channels=channels,
            saved=[s for s in saved if s.text is not None], saved_problems=[s for s in saved if s.text is None],
            causes=causes, teammates=teammates, resolved=resolved, error=error, form=form or {}, recheck=recheck,
            sentiments=SENTIMENTS, themes=known_themes(rt),
            overdue=not resolved and case.due_at < utcnow(), me=_me())
    return html, status


def case_page(case_id: int) -> tuple[str, int]:
    return _case_page(case_id)


def _act(case_id: int, done: str, action: Any, form: dict[str, str]) -> Response | tuple[str, int]:
    """Run the service; on success back to the case with a message, on a refusal the page with it and the form."""
    try:
        action()
    except CaseNotFound:
        raise PageError(404, "No such case", f"Case {case_id} does not exist (any more).") from None
    except ServiceError as exc:
        message = exc.message[:1].upper() + exc.message[1:]
        return _case_page(case_id, STATUS_OF.get(type(exc), 409), error=message, form=form)
    if done:
        flash(done)
    return redirect(url_for("cases.case_page", case_id=case_id), 303)


def _in_session(fn: Any, *args: Any) -> Any:
    def run() -> None:
        with runtime().session() as session:
            fn(session, *args)
    return run


def claim(case_id: int) -> Response | tuple[str, int]:
    me = _me()
    return _act(case_id, "You have the case.", _in_session(claim_case, case_id, me), {})


def assign(case_id: int) -> Response | tuple[str, int]:
    who = request.form.get("assignee", "").strip()
    form = {"assignee": who}
    done = f"The case is {who}'s now." if who else "The case is back in the queue, unassigned."
    return _act(case_id, done, _in_session(assign_case, case_id, who or None, _me()), form)


def note(case_id: int) -> Response | tuple[str, int]:
    text = request.form.get("note", "").strip()
    form = {"note": request.form.get("note", "")}
    if not text:
        return _case_page(case_id, 422, error="Note is empty: write something first", form=form)
    return _act(case_id, "Your note is added.", _in_session(add_note, case_id, _me(), text), form)


def reply(case_id: int) -> Response | tuple[str, int]:
    text = request.form.get("reply", "")
    channel = request.form.get("channel", "").strip() or None
    form = {"reply": text, "channel": channel or "", "saved": request.form.get("saved", "")}
    rt = runtime()
    if "use_saved" in request.form:  # without scripts, a saved reply fills the box on the page that comes back
        with rt.session() as session:
            filled = {s.name: s.text for s in saved_replies_for_case(rt, session, case_id) if s.text is not None}
        if form["saved"] not in filled:
            return _case_page(case_id, 422, error="Choose a saved reply first", form=form)
        return _case_page(case_id, form={**form, "reply": filled[form["saved"]] or ""})
    if not text.strip():
        return _case_page(case_id, 422, error="Reply is empty: write your message first", form=form)
    me = _me()

    sent_on: list[str] = []

    def send() -> None:
        case = reply_to_customer(rt, case_id, me, text.strip(), channel)
        sent_on.append(case.reply_channel or case.channel)

    answer = _act(case_id, "", send, form)
    if sent_on:
        flash(f"Your reply is sent on {sent_on[0]}.")
    return answer


def resolve(case_id: int) -> Response | tuple[str, int]:
    note_text = request.form.get("resolution_note", "")
    cause = request.form.get("root_cause", "").strip() or None
    form = {"resolution_note": note_text, "root_cause": cause or ""}
    done = "The case is resolved."
    return _act(case_id, done, _in_session(resolve_case, case_id, _me(), note_text.strip() or None, cause), form)


def reopen(case_id: int) -> Response | tuple[str, int]:
    return _act(case_id, "The case is open again.", _in_session(reopen_case, case_id, _me(), None), {})


def _response_of(case_id: int) -> int:
    with runtime().session() as session:
        found = case_with_context(session, case_id)
    if found is None:
        raise PageError(404, "No such case", f"Case {case_id} does not exist (any more).")
    response_id = found[2].id
    assert response_id is not None
    return response_id


def _correct(case_id: int, done: str, sentiment: str | None, themes: list[str] | None,
             form: dict[str, str]) -> Response | tuple[str, int]:
    """The same correction as the API's: the answer takes the agent's tags now, the next model learns them."""
    rt, response_id = runtime(), _response_of(case_id)

    def run() -> None:
        with rt.session() as session:
            correct_response(rt, session, response_id, sentiment, themes)

    return _act(case_id, done, run, form)


def correct_sentiment(case_id: int) -> Response | tuple[str, int]:
    """"Sentiment wrong": the agent picks the right one."""
    sentiment = request.form.get("sentiment", "").strip()
    if sentiment not in SENTIMENTS:
        return _case_page(case_id, 422, error=f"Right sentiment: choose one of {', '.join(SENTIMENTS)}",
                          form={"sentiment": sentiment})
    return _correct(case_id, f"The sentiment is now {sentiment}.", sentiment, None, {"sentiment": sentiment})


def correct_themes(case_id: int) -> Response | tuple[str, int]:
    """"Theme wrong": the agent ticks the themes the comment is about (unticking removes one)."""
    themes = [t.strip() for t in request.form.getlist("theme") if t.strip()]
    done = f"The themes are now {', '.join(themes)}." if themes else "The comment has no theme now."
    return _correct(case_id, done, None, themes, {})


def cases_blueprint() -> Blueprint:
    bp = Blueprint("cases", __name__, url_prefix="/app/cases")
    bp.add_url_rule("", "inbox", inbox, methods=["GET"])
    bp.add_url_rule("/<int:case_id>", "case_page", case_page, methods=["GET"])
    for name, view in [("claim", claim), ("assign", assign), ("note", note), ("reply", reply),
                       ("resolve", resolve), ("reopen", reopen), ("sentiment", correct_sentiment),
                       ("themes", correct_themes)]:
        bp.add_url_rule(f"/<int:case_id>/{name}", name, view, methods=["POST"])
    return bp
