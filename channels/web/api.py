"""The widget's HTTP side: its script, and the JSON endpoints it calls from the customer's pages.

Every endpoint names its site by public key in the path, so a CORS preflight (which carries no body) is
answered for that site alone: only the site's allowed origins get Access-Control-Allow-Origin, any other
origin gets 403 before anything is read. There are no cookies: the identity is the user id plus the HMAC the
site's backend computed over it, checked on every call. Rate limits count per client IP, and per user once
the hash is verified (so a stranger cannot use up someone else's allowance); they live in this process.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Response, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from channels.base import Inbox, SurveyView
from channels.web.desk import WidgetDesk, WidgetSite
from flows.inputs import TooDeep, first_unstorable, strict_json, unstorable
from flows.questions import QuestionKind, answer_text, scale_for, valid_score
from flows.texts import builtin_text, score_label

SCRIPT = Path(__file__).parent / "static" / "touchpoint.js"
MAX_BODY_BYTES = 16 * 1024
PREFLIGHT_MAX_AGE = 600

_HASH = re.compile(r"[0-9a-fA-F]{64}")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")
_EVENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


class WidgetError(Exception):
    def __init__(
        self, status: int, code: str, message: str, details: list[dict[str, str]] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or []
        self.retry_after = retry_after


@dataclass(frozen=True)
class WidgetLimits:
    """Requests per minute the widget endpoints accept, per client IP and per verified user."""

    per_ip: int = 600
    per_user: int = 60
    window_seconds: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WidgetLimits:
        return cls(per_ip=_positive(env, "TOUCHPOINT_WIDGET_RATE_PER_IP", cls.per_ip),
                   per_user=_positive(env, "TOUCHPOINT_WIDGET_RATE_PER_USER", cls.per_user))


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a whole number of requests per minute, such as {default}")
    return int(raw)


# Request bodies. Every one names the user and carries the hash the site's backend computed.


class _Identity(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    user_id: str = Field(min_length=1, max_length=255)
    hash: str

    @field_validator("hash")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not _HASH.fullmatch(value):
            raise ValueError("must be the hex HMAC-SHA256 of user_id under the site's widget secret")
        return value


B = TypeVar("B", bound=_Identity)


class _Page(_Identity):
    attributes: dict[str, Any] = Field(default_factory=dict)
    url: str | None = Field(default=None, max_length=2048)

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > 50:
            raise ValueError("at most 50 attributes")
        for name, item in value.items():
            if not _NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not an attribute name; use letters, digits and _ . - (at most 64)")
            scalar = item is None or isinstance(item, bool | int | float)
            if not (scalar or (isinstance(item, str) and len(item) <= 255)):
                raise ValueError(f"{name}: use text of at most 255 characters, a number, true/false or null")
        locale = value.get("locale")
        if locale is not None and not (isinstance(locale, str) and _LOCALE.fullmatch(locale)):
            raise ValueError("locale: not a locale; use a language tag such as en or pt-BR")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must be the page's http(s) URL")
        return value

    @property
    def path(self) -> str:
        return (urlsplit(self.url).path if self.url else "") or "/"

    @property
    def locale(self) -> str | None:
        return self.attributes.get("locale")

    @property
    def other_attributes(self) -> dict[str, Any]:
        return {name: value for name, value in self.attributes.items() if name != "locale"}


class IdentifyIn(_Page):
    pass


class TrackIn(_Page):
    event: str
    properties: dict[str, Any] = Field(default_factory=dict)
    id: str  # random per call, made by the script: a retried call is the same event

    @field_validator("event")
    @classmethod
    def _event(cls, value: str) -> str:
        if not _EVENT.fullmatch(value):
            raise ValueError("use letters, digits and . _ : - (at most 128), such as feature.used")
        return value

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > 50 or len(json.dumps(value)) > 8192:
            raise ValueError("at most 50 properties and 8 KB")
        return value

    @field_validator("id")
    @classmethod
    def _client_id(cls, value: str) -> str:
        if not _CLIENT_ID.fullmatch(value):
            raise ValueError("8 to 64 letters, digits, - or _")
        return value


class _Survey(_Identity):
    token: str = Field(min_length=1, max_length=64)


class DisplayIn(_Survey):
    state: Literal["shown", "dismissed"]


class AnswerIn(_Survey):
    score: StrictInt


class CommentIn(_Survey):
    text: str = Field(min_length=1, max_length=5000)


def widget_blueprint(inbox: Inbox, desk: WidgetDesk, limits: WidgetLimits, color: str) -> Blueprint:
    bp = Blueprint("widget", __name__, url_prefix="/widget/v1")
    script = SCRIPT.read_bytes()
    etag = hashlib.sha256(script).hexdigest()[:20]

    def serve_script() -> Response:
        response = Response(script, mimetype="text/javascript")
        response.headers["Cache-Control"] = "public, max-age=86400"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        response.set_etag(etag)
        return response.make_conditional(request)

    @bp.errorhandler(WidgetError)
    def _error(exc: WidgetError) -> Response:
        response = jsonify({"error": {"code": exc.code, "message": exc.message, "details": exc.details}})
        response.status_code = exc.status
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        return response

    @bp.before_request
    def _site_and_origin() -> Response | None:
        """The site from the path, the caller's origin on its list, then the IP's allowance."""
        if request.endpoint == "widget.script":
            return None
        public_key = (request.view_args or {}).get("public_key", "")
        site = None if unstorable(public_key) else desk.site(public_key)
        if site is None:
            raise WidgetError(404, "not_found", "no site has this public key")
        origin = request.headers.get("Origin", "")
        if origin not in site.origins:
            raise WidgetError(403, "origin_not_allowed", f"{origin or 'a request without Origin'} may not use "
                              f"this site's widget; add the origin to the site's allowed origins")
        g.widget_site, g.widget_origin = site, origin
        if request.method == "OPTIONS":
            response = Response(status=204)
            response.headers["Access-Control-Allow-Methods"] = "POST"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
            return response
        wait = desk.hit(f"widget-ip:{request.remote_addr or ''}", limits.per_ip, limits.window_seconds)
        if wait is not None:
            raise WidgetError(429, "rate_limited", "too many requests from this address", retry_after=wait)
        return None

    @bp.after_request
    def _cors(response: Response) -> Response:
        if request.endpoint != "widget.script":
            response.vary.add("Origin")
            origin = g.get("widget_origin")
            if origin:
                response.headers["Access-Control-Allow-Origin"] = origin
                response.headers["Access-Control-Expose-Headers"] = "Retry-After"
        return response

    def verified(model: type[B]) -> tuple[WidgetSite, B]:
        payload = _body(model)
        site: WidgetSite = g.widget_site
        if not site.verifies(payload.user_id, payload.hash):
            raise WidgetError(403, "identity_not_verified", "the hash does not match this user id; compute "
                              "HMAC-SHA256(user_id) with the site's widget secret on your server")
        wait = desk.hit(f"widget-user:{site.id}:{payload.user_id}", limits.per_user, limits.window_seconds)
        if wait is not None:
            raise WidgetError(429, "rate_limited", "too many requests for this user", retry_after=wait)
        return site, payload

    def identify(public_key: str) -> Response:
        site, body = verified(IdentifyIn)
        pending = desk.visit(site, body.user_id, body.path, body.locale, body.other_attributes)
        survey = _survey_json(pending.view, pending.delay, color) if pending is not None else None
        return jsonify({"survey": survey})

    def track(public_key: str) -> tuple[Response, int]:
        site, body = verified(TrackIn)
        done = desk.track(site, body.user_id, body.event, body.properties, body.id, body.locale,
                          body.other_attributes)
        check_in = round(min(done.due_in), 1) if done.due_in else None
        return jsonify({"duplicate": done.duplicate, "surveys": len(done.due_in), "check_in": check_in}), \
            200 if done.duplicate else 202

    def display(public_key: str) -> Response:
        site, body = verified(DisplayIn)
        if not desk.displayed(site, body.user_id, body.token, body.state == "dismissed"):
            raise WidgetError(404, "not_found", "no survey of this user has this token")
        return jsonify({"state": body.state})

    def answer(public_key: str) -> Response:
        site, body = verified(AnswerIn)
        view = _own_survey(desk, body)
        if not valid_score(view.kind, body.score):
            raise WidgetError(422, "invalid", "the request is not valid",
                              [{"field": "score", "message": f"must be {_choices_hint(view.kind)}"}])
        if not view.open:
            raise WidgetError(409, "closed", "this survey has closed")
        desk.displayed(site, body.user_id, body.token, False)  # an answer proves the pop-up was seen
        answered = inbox.answer(body.token, answer_text(view.kind, body.score)) or view
        return jsonify(_state_json(answered))

    def comment(public_key: str) -> Response:
        _site, body = verified(CommentIn)
        view = _own_survey(desk, body)
        if not view.open or view.phase != "awaiting_comment":
            raise WidgetError(409, "not_awaiting_comment", "this survey is not waiting for a comment")
        answered = inbox.answer(body.token, body.text) or view
        return jsonify(_state_json(answered))

    bp.add_url_rule("/touchpoint.js", "script", serve_script, methods=["GET"])
    for name, view_func in (("identify", identify), ("track", track), ("display", display), ("answer", answer),
                            ("comment", comment)):
        bp.add_url_rule(f"/<public_key>/{name}", name, view_func, methods=["POST", "OPTIONS"],
                        provide_automatic_options=False)
    return bp


def _body(model: type[B]) -> B:
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise WidgetError(413, "too_large", f"the body is over {MAX_BODY_BYTES} bytes")
    if not request.is_json:
        raise WidgetError(415, "unsupported_media_type", "send a JSON body with Content-Type: application/json")
    try:
        data = strict_json(request.get_data(cache=True))
    except TooDeep:
        raise WidgetError(400, "malformed_json", "the body is nested too deeply") from None
    except ValueError:
        raise WidgetError(400, "malformed_json", "the body is not valid JSON") from None
    found = first_unstorable(data)
    if found:
        raise WidgetError(422, "invalid", "the request is not valid", [{"field": found[0] or "body",
                                                                         "message": found[1]}])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise WidgetError(422, "invalid", "the request is not valid", _fields(exc)) from None


def _fields(exc: ValidationError) -> list[dict[str, str]]:
    return [{"field": ".".join(str(part) for part in err["loc"]) or "body",
             "message": err["msg"].removeprefix("Value error, ")} for err in exc.errors(include_url=False)]


def _own_survey(desk: WidgetDesk, body: _Survey) -> SurveyView:
    view = desk.survey(body.user_id, body.token)
    if view is None:
        raise WidgetError(404, "not_found", "no survey of this user has this token")
    return view


def _choices_hint(kind: QuestionKind) -> str:
    if kind is QuestionKind.THUMBS:
        return "1 (up) or 0 (down)"
    return f"from {scale_for(kind).low} to {scale_for(kind).high}"


def _survey_json(view: SurveyView, delay: int, color: str) -> dict[str, Any]:
    """What the pop-up shows, in the user's language: the question, one named button per answer, and what
    the scale's ends mean."""
    if view.kind is QuestionKind.THUMBS:
        choices = [(1, "\N{THUMBS UP SIGN}"), (0, "\N{THUMBS DOWN SIGN}")]
    else:
        scale = scale_for(view.kind)
        choices = [(score, str(score)) for score in range(scale.low, scale.high + 1)]
    return {
        "token": view.token,
        "kind": str(view.kind),
        "lang": view.locale,
        "question": view.question,
        "choices": [{"score": score, "label": label, "name": score_label(view.kind, score, view.locale)}
                    for score, label in choices],
        "labels": {"low": view.labels.low, "high": view.labels.high} if view.labels else None,
        "thanks": view.thanks,
        "delay": delay,
        "color": color,
        "texts": {"close": builtin_text("widget_close", view.locale),
                  "send": builtin_text("page_comment_send", view.locale)},
    }


def _state_json(view: SurveyView) -> dict[str, Any]:
    return {"phase": view.phase, "score": view.score, "prompt": view.prompt, "thanks": view.thanks,
            "open": view.open}
