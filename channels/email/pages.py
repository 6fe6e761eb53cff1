"""The pages behind survey links: a link only shows the choice, a POST records it.

Mail scanners (Outlook Safe Links, corporate gateways) open every link in a message, so a GET never
records anything: the page shows the chosen score and records it with a POST that its script sends at
once, with a button for browsers without scripts. The score can be changed until the comment is sent.
Unsubscribing is the same: GET asks, POST does it (RFC 8058 one-click POSTs come straight here).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, render_template, request

from channels.base import Inbox, SurveyView
from flows.inputs import storable, unstorable
from flows.questions import QuestionKind, answer_text, scale_for, valid_score
from flows.texts import builtin_text, end_legend


def pages(inbox: Inbox) -> Blueprint:
    bp = Blueprint("survey_pages", __name__, template_folder=str(Path(__file__).parent / "templates"))

    def show(view: SurveyView | None, chosen: int | None = None, status: int = 200) -> tuple[str, int]:
        if view is None:
            return render_template("survey_page.html", view=None, t=_texts(None)), 404
        scale = scale_for(view.kind)
        scores = [1, 0] if view.kind is QuestionKind.THUMBS else list(range(scale.low, scale.high + 1))
        ends = end_legend(view.kind, view.labels) if view.labels else None
        # One row of buttons; on a phone, a long scale takes two (as in the widget).
        columns = f"--n:{len(scores)};--m:{-(-len(scores) // 2) if len(scores) > 7 else len(scores)}"
        chosen_text = None if chosen is None else \
            builtin_text("page_chosen", view.locale, score=_label(view.kind, chosen, view.locale))
        return render_template("survey_page.html", view=view, chosen=chosen, chosen_text=chosen_text, scores=scores,
                               t=_texts(view.locale), ends=ends, columns=columns,
                               label=lambda s: _label(view.kind, s, view.locale)), status

    @bp.before_request
    def _no_such_token() -> tuple[str, int] | None:
        """A token the database cannot store is nobody's survey."""
        return show(None) if unstorable((request.view_args or {}).get("token", "")) else None

    def landing(token: str, score: int) -> tuple[str, int]:
        view = inbox.survey(token)
        if view is not None and view.open and not valid_score(view.kind, score):
            return show(view, None, 404)
        return show(view, score if view and view.open and view.phase == "awaiting_score" else None)

    def record(token: str) -> tuple[str, int]:
        view = inbox.survey(token)
        score = request.form.get("score", type=int)
        if view is None or not view.open or score is None or not valid_score(view.kind, score):
            return show(view, None, 404 if view is None else 422 if view.open else 200)
        return show(inbox.answer(token, answer_text(view.kind, score)))

    def comment(token: str) -> tuple[str, int]:
        view = inbox.survey(token)
        text = storable(request.form.get("comment") or "").strip()  # the customer's words, never refused
        if view is None or not view.open or view.phase != "awaiting_comment" or not text:
            return show(view, None, 404 if view is None else 200 if not text else 409)
        return show(inbox.answer(token, text[:5000]))

    def unsubscribe(token: str) -> tuple[str, int] | Response:
        view = inbox.survey(token)
        if view is None:
            return show(None)
        done = request.method == "POST" and inbox.unsubscribe(token, "email link", "email")
        page = render_template("unsubscribe_page.html", view=view, done=done, t=_texts(view.locale))
        return page, 200

    bp.add_url_rule("/s/<token>/<int:score>", "landing", landing, methods=["GET"])
    bp.add_url_rule("/s/<token>/answer", "record", record, methods=["POST"])
    bp.add_url_rule("/s/<token>/comment", "comment", comment, methods=["POST"])
    bp.add_url_rule("/s/<token>/unsubscribe", "unsubscribe", unsubscribe, methods=["GET", "POST"])
    return bp


def _label(kind: QuestionKind, score: int, locale: str | None) -> str:
    if kind is QuestionKind.THUMBS:
        return builtin_text("thumbs_up" if score == 1 else "thumbs_down", locale)
    return str(score)


def _texts(locale: str | None) -> dict[str, str]:
    names = ("page_save", "page_change", "page_comment_send", "page_done", "page_invalid", "page_unsubscribe_ask",
             "page_unsubscribed", "email_unsubscribe")
    return {name: builtin_text(name, locale) for name in names}
