"""The flow file as a validated model: every field of the YAML, and the questions callers ask of it.

Unknown fields are errors, so a typo such as `quiet_hour:` fails loudly instead of being ignored. Every
text is a Jinja template and is checked here, so a broken template is found when a flow is imported
rather than when the first customer would have received it. Durations are kept as strings in their
shortest form ("24h" becomes "1d"), so a stored definition reads like the file it came from.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from datetime import timedelta
from fnmatch import fnmatchcase
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    ValidationInfo,
    field_validator,
    model_serializer,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from flows.durations import format_duration, parse_duration
from flows.questions import Band, EndLabels, QuestionKind, scale_for
from flows.schedule import parse_quiet_hours
from flows.templates import check_template, render_template
from flows.texts import end_labels, has_language

_CHANNEL_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
CommentAsk = Literal["always", "detractors", "never"]
Priority = Literal["low", "normal", "high", "urgent"]
Sentiment = Literal["positive", "neutral", "negative"]
Scalar = str | bool | int | float


def _known_channel(name: str, info: ValidationInfo) -> str:
    """Which channels exist is the channel registry's to say: its names come in the validation context."""
    known = (info.context or {}).get("channels")
    if known is not None and name not in known:
        raise PydanticCustomError("channel", "must be one of {names}", {"names": ", ".join(known)})
    if known is None and not _CHANNEL_NAME.fullmatch(name):
        raise PydanticCustomError("channel", "must be a channel name (lower-case letters, digits, _)")
    return name


Channel = Annotated[str, AfterValidator(_known_channel)]

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")
_EVENT_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")

# Used when a flow asks for a comment but writes no prompt, so a short flow file is still complete.
DEFAULT_COMMENT_PROMPT: dict[str, str] = {
    "en": "Thanks! What's the main reason for your score?",
    "es": "¡Gracias! ¿Cuál es el motivo principal de tu puntuación?",
    "fr": "Merci ! Quelle est la raison principale de votre note ?",
    "de": "Danke! Was ist der Hauptgrund für Ihre Bewertung?",
}

# Tags of the one union in the schema; they appear in pydantic error locations but not in the file.
_PROMPT_TEXT_TAG = "<text>"
_PROMPT_BANDS_TAG = "<per-band>"
_INTERNAL_SEGMENT = re.compile(r"<.*>|\[key\]")

T = TypeVar("T")


def slug(value: str) -> str:
    if not isinstance(value, str) or not _SLUG.fullmatch(value) or len(value) > 64:
        raise ValueError(
            f"{value!r} is not a slug; use lowercase letters, digits and single hyphens, such as post-delivery-nps"
        )
    return value


def _locale(value: str) -> str:
    if not isinstance(value, str) or not _LOCALE.fullmatch(value):
        raise ValueError(f"{value!r} is not a locale; use a language tag such as en or pt-BR")
    return value


def _template(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    check_template(value)
    return value


def _end_label(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if "{{" in value or "{%" in value:
        raise ValueError("end labels are plain text; templates are not rendered here")
    return value


def _duration(value: Any) -> str:
    return format_duration(parse_duration(value))


def _quiet_hours(value: Any) -> str:
    start, end = parse_quiet_hours(value)
    return f"{start:%H:%M}-{end:%H:%M}"


def _event_type(value: str) -> str:
    if not _EVENT_TYPE.fullmatch(value):
        raise ValueError(f"{value!r} is not an event type; use letters, digits and . _ : -, such as order.delivered")
    return value


def _where_value(value: Any) -> Any:
    """One clear message for a bad condition, instead of one per member of the scalar union."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ValueError("an empty list matches no event; list at least one value")
    for item in items:
        if not isinstance(item, str | bool | int | float):
            raise ValueError(f"{item!r} cannot be compared; use text, a number, true/false, or a list of those")
    return value


def _url_pattern(value: str) -> str:
    if not value.startswith("/") or len(value) > 200 or any(char.isspace() for char in value):
        raise ValueError(
            f"{value!r} is not a URL path pattern; start with / and use * for any characters, such as /app/*"
        )
    return value


def _web_delay(value: str) -> str:
    if parse_duration(value) > timedelta(hours=1):
        raise ValueError("at most 1h; the pop-up waits this long after the page loads")
    return value


def _non_empty_texts(value: dict[str, str]) -> dict[str, str]:
    if not value:
        raise ValueError("needs a text for at least one locale, such as en")
    return value


def _prompt_shape(value: Any) -> str:
    # Called with the raw input when validating and with the model when serializing.
    return _PROMPT_BANDS_TAG if isinstance(value, dict | BandPrompts) else _PROMPT_TEXT_TAG


Slug = Annotated[str, AfterValidator(slug)]
Locale = Annotated[str, AfterValidator(_locale)]
TemplateText = Annotated[str, AfterValidator(_template)]
LocalizedText = Annotated[dict[Locale, TemplateText], AfterValidator(_non_empty_texts)]
EndLabel = Annotated[str, Field(max_length=60), AfterValidator(_end_label)]
Duration = Annotated[str, BeforeValidator(_duration)]
QuietHours = Annotated[str, BeforeValidator(_quiet_hours)]
WhereValue = Annotated[Scalar | list[Scalar], BeforeValidator(_where_value)]
UrlPattern = Annotated[str, AfterValidator(_url_pattern)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Trigger(_Strict):
    event: Annotated[str, AfterValidator(_event_type)]
    where: dict[str, WhereValue] | None = None


class ScaleEnds(_Strict):
    """What the lowest and the highest score mean, in one language."""

    low: EndLabel
    high: EndLabel


class Question(_Strict):
    """The question, with optional wording per channel: "Reply 1 to 5" suits a text message, not a button."""

    kind: QuestionKind
    text: LocalizedText
    channel_text: dict[Channel, LocalizedText] | None = None
    labels: Annotated[dict[Locale, ScaleEnds], AfterValidator(_non_empty_texts)] | None = None

    @model_serializer(mode="wrap")
    def _without_unset_options(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Questions without these keep the stored form they had before the options existed.
        data = handler(self)
        for name in ("channel_text", "labels"):
            if isinstance(data, dict) and data.get(name, False) is None:
                del data[name]
        return data

    @field_validator("labels")
    @classmethod
    def _labels_fit_kind(cls, labels: dict[str, ScaleEnds] | None, info: ValidationInfo) -> dict | None:
        if labels is not None and info.data.get("kind") is QuestionKind.THUMBS:
            raise ValueError("thumbs questions have no scale ends; their buttons already say Yes and No")
        return labels

    def texts_on(self, channel: str | None) -> dict[str, str]:
        """The channel's own wording when the flow gives one, else the common text."""
        return (self.channel_text or {}).get(channel or "") or self.text


class BandPrompts(_Strict):
    """A comment prompt per band: the apology for a detractor should not be the thanks for a promoter."""

    detractor: TemplateText | None = None
    passive: TemplateText | None = None
    promoter: TemplateText | None = None

    def get(self, band: Band) -> str | None:
        return getattr(self, band.value)


Prompt = Annotated[
    Annotated[TemplateText, Tag(_PROMPT_TEXT_TAG)] | Annotated[BandPrompts, Tag(_PROMPT_BANDS_TAG)],
    Discriminator(_prompt_shape),
]


class Comment(_Strict):
    ask: CommentAsk = "always"
    prompt: dict[Locale, Prompt] = Field(default_factory=dict)
    window: Duration = "1d"

    def wants(self, band: Band) -> bool:
        return self.ask == "always" or (self.ask == "detractors" and band is Band.DETRACTOR)


class RoutingCondition(_Strict):
    """What a response must have for a rule to apply; every given condition must hold, none means any."""

    band: Band | None = None
    sentiment: Sentiment | None = None
    theme: str | None = None
    score_at_most: int | None = None
    score_at_least: int | None = None
    channel: Channel | None = None

    @property
    def is_catch_all(self) -> bool:
        return all(getattr(self, name) is None for name in type(self).model_fields)


class RoutingRule(_Strict):
    when: RoutingCondition = Field(default_factory=RoutingCondition)
    queue: Slug
    priority: Priority = "normal"
    sla: Duration | None = None

    @property
    def sla_td(self) -> timedelta | None:
        return parse_duration(self.sla) if self.sla is not None else None


class WebOptions(_Strict):
    """How the web widget shows the survey: after a delay on the page, and only on matching URL paths."""

    delay: Annotated[Duration, AfterValidator(_web_delay)] = "0s"
    include: Annotated[list[UrlPattern], Field(max_length=20)] = Field(default_factory=list)
    exclude: Annotated[list[UrlPattern], Field(max_length=20)] = Field(default_factory=list)

    @property
    def delay_seconds(self) -> int:
        return int(parse_duration(self.delay).total_seconds())

    def allows(self, path: str) -> bool:
        """The page's path matches an include pattern (any, when there are none) and no exclude pattern;
        `*` stands for any characters, `/` included."""
        included = not self.include or any(fnmatchcase(path, pattern) for pattern in self.include)
        return included and not any(fnmatchcase(path, pattern) for pattern in self.exclude)


class FlowDefinition(_Strict):
    """One flow file. Field order is the order of the documented example, and of `dump_flow` output."""

    key: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    enabled: bool = True
    trigger: Trigger
    delay: Duration = "0s"
    channels: Annotated[list[Channel], Field(min_length=1)]
    question: Question
    comment: Comment = Field(default_factory=Comment)
    thanks: dict[Locale, TemplateText] = Field(default_factory=dict)
    expire_after: Duration = "3d"
    reminder: Duration | None = None
    quiet_hours: QuietHours | None = None
    throttle: Duration | None = None
    sample: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    routing: list[RoutingRule] = Field(default_factory=list)
    web: WebOptions | None = None

    @model_serializer(mode="wrap")
    def _without_default_web(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Flows without a `web` block keep the stored form they had before the block existed.
        data = handler(self)
        if isinstance(data, dict) and data.get("web", False) is None:
            del data["web"]
        return data

    @field_validator("channels")
    @classmethod
    def _channels_once(cls, channels: list[str]) -> list[str]:
        seen: set[str] = set()
        for index, channel in enumerate(channels):
            if channel in seen:
                raise _rule(f"{channel} is listed twice; each channel appears once, in preference order", index)
            seen.add(channel)
        return channels

    @field_validator("question")
    @classmethod
    def _channel_texts_are_used(cls, question: Question, info: ValidationInfo) -> Question:
        channels = info.data.get("channels")
        if channels is None:  # the channels themselves are wrong, and reported
            return question
        for channel in question.channel_text or {}:
            if channel not in channels:
                raise _rule(f"{channel} is not among this flow's channels; add it there or remove this text",
                            "channel_text", channel)
        return question

    @field_validator("comment")
    @classmethod
    def _prompts_cover_bands(cls, comment: Comment, info: ValidationInfo) -> Comment:
        kind = _kind_of(info)
        if kind is None:
            return comment
        bands = _bands_of(kind)
        for locale, prompt in comment.prompt.items():
            if not isinstance(prompt, BandPrompts):
                continue
            if kind is QuestionKind.THUMBS and prompt.passive is not None:
                raise _rule("thumbs questions have no passive band", "prompt", locale, "passive")
            for band in bands:
                if comment.wants(band) and prompt.get(band) is None:
                    raise _rule(f"needs a prompt for {band} (comment.ask is {comment.ask})", "prompt", locale, band)
        return comment

    @field_validator("reminder")
    @classmethod
    def _reminder_before_expiry(cls, reminder: str | None, info: ValidationInfo) -> str | None:
        expire_after = info.data.get("expire_after")
        too_late = (
            reminder is not None
            and expire_after is not None
            and (parse_duration(reminder) >= parse_duration(expire_after))
        )
        if too_late:
            raise _rule(f"must be shorter than expire_after ({expire_after}), or the survey expires first")
        return reminder

    @field_validator("routing")
    @classmethod
    def _rules_fit_question(cls, rules: list[RoutingRule], info: ValidationInfo) -> list[RoutingRule]:
        kind = _kind_of(info)
        for index, rule in enumerate(rules):
            if rule.when.is_catch_all and index < len(rules) - 1:
                raise _rule("matches every response, so the rules after it never apply; move it last", index, "when")
            if kind is not None:
                _check_condition(kind, rule.when, index)
        return rules

    @field_validator("web")
    @classmethod
    def _web_needs_the_channel(cls, web: WebOptions | None, info: ValidationInfo) -> WebOptions | None:
        if web is not None and "web" not in info.data.get("channels", ["web"]):
            raise _rule("applies to the web widget; add web to channels or remove this block")
        return web

    @property
    def web_options(self) -> WebOptions:
        return self.web or WebOptions()

    @property
    def delay_td(self) -> timedelta:
        return parse_duration(self.delay)

    @property
    def expire_td(self) -> timedelta:
        return parse_duration(self.expire_after)

    @property
    def reminder_td(self) -> timedelta | None:
        return parse_duration(self.reminder) if self.reminder is not None else None

    @property
    def throttle_td(self) -> timedelta | None:
        return parse_duration(self.throttle) if self.throttle is not None else None

    @property
    def comment_window_td(self) -> timedelta:
        return parse_duration(self.comment.window)

    def text_for(
        self, locale: str | None, context: Mapping[str, Any] | None = None, channel: str | None = None
    ) -> str:
        """The question in the customer's language, in the channel's wording when the flow gives one;
        rendered when a template context is given."""
        text = pick_locale(self.question.texts_on(channel), locale)
        assert text is not None, "validation guarantees at least one question text"
        return _maybe_render(text, context)

    def end_labels(self, locale: str | None, channel: str | None = None) -> EndLabels | None:
        """What the scale's ends mean, in the language the question is shown in (a Spanish label under
        an English question reads as a mistake): the flow's own labels, else the built-in ones."""
        shown = picked_tag(self.question.texts_on(channel), locale)
        labels = self.question.labels or {}
        tag = picked_tag(labels, shown, fallback=False)
        if tag is None and not has_language(shown):
            tag = picked_tag(labels, shown)
        if tag is not None:
            return EndLabels(labels[tag].low, labels[tag].high)
        return end_labels(self.question.kind, shown)

    def wants_comment(self, band: Band) -> bool:
        return self.comment.wants(band)

    def comment_prompt(self, locale: str | None, band: Band, context: Mapping[str, Any] | None = None) -> str:
        """The follow-up question for this band, falling back to a built-in prompt when the flow has none."""
        prompt = pick_locale(self.comment.prompt, locale)
        text = prompt.get(band) if isinstance(prompt, BandPrompts) else prompt
        if text is None:
            text = pick_locale(DEFAULT_COMMENT_PROMPT, locale) or DEFAULT_COMMENT_PROMPT["en"]
        return _maybe_render(text, context)

    def thanks_text(self, locale: str | None, context: Mapping[str, Any] | None = None) -> str | None:
        """The flow's closing thanks, or None so the caller can use its built-in one."""
        text = pick_locale(self.thanks, locale)
        return _maybe_render(text, context) if text is not None else None


def pick_locale(texts: Mapping[str, T], locale: str | None) -> T | None:
    """The best text for a locale: exact, then its language ("en-GB" -> "en"), then English, then any.

    A flow written for "en" must still reach an "en-GB" contact, and one written only in Spanish must
    still reach a contact whose locale is unknown.
    """
    tag = picked_tag(texts, locale)
    return texts[tag] if tag is not None else None


def picked_tag(texts: Mapping[str, Any], locale: str | None, fallback: bool = True) -> str | None:
    """The locale key `pick_locale` takes; without `fallback`, only one in the locale's own language."""
    if not texts:
        return None
    by_tag = {_normal_tag(tag): tag for tag in texts}
    wanted = _normal_tag(locale or "en")
    language = wanted.split("-")[0]
    for tag in (wanted, language):
        if tag in by_tag:
            return by_tag[tag]
    for normal, tag in by_tag.items():
        if normal.split("-")[0] == language:
            return tag
    if not fallback:
        return None
    return by_tag.get("en", next(iter(texts)))


def error_path(error: ErrorDetails) -> tuple[str | int, ...]:
    """Where in the flow file a validation error points, as the author wrote it.

    Pydantic locations include union tags and "[key]" markers that are not in the file, and the
    cross-field checks above add the exact sub-path of what they found in the error's context.
    """
    path = tuple(part for part in error["loc"] if not (isinstance(part, str) and _INTERNAL_SEGMENT.fullmatch(part)))
    return path + tuple(error.get("ctx", {}).get("at", ()))


def field_names_at(path: tuple[str | int, ...]) -> list[str]:
    """The fields a flow file may have at `path`, so an unknown one can be answered with a suggestion."""
    types_here: list[Any] = [FlowDefinition]
    for part in path:
        types_here = [inner for kind in types_here for inner in _children(kind, part)]
    names: list[str] = []
    for kind in types_here:
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names.extend(name for name in kind.model_fields if name not in names)
    return names


def _children(kind: Any, part: str | int) -> list[Any]:
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        field = kind.model_fields.get(part) if isinstance(part, str) else None
        return _unwrap(field.annotation) if field is not None else []
    origin = typing.get_origin(kind)
    if origin is list and isinstance(part, int):
        return _unwrap(typing.get_args(kind)[0])
    if origin is dict:
        return _unwrap(typing.get_args(kind)[1])
    return []


def _unwrap(kind: Any) -> list[Any]:
    """The concrete types behind Annotated, Optional and unions."""
    origin = typing.get_origin(kind)
    if origin is Annotated:
        return _unwrap(typing.get_args(kind)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [inner for arg in typing.get_args(kind) for inner in _unwrap(arg)]
    return [kind]


def _rule(message: str, *at: str | int) -> PydanticCustomError:
    return PydanticCustomError("flow_rule", message, {"at": at})


def _kind_of(info: ValidationInfo) -> QuestionKind | None:
    question = info.data.get("question")
    return question.kind if isinstance(question, Question) else None


def _bands_of(kind: QuestionKind) -> tuple[Band, ...]:
    if kind is QuestionKind.THUMBS:
        return (Band.DETRACTOR, Band.PROMOTER)
    return (Band.DETRACTOR, Band.PASSIVE, Band.PROMOTER)


def _check_condition(kind: QuestionKind, when: RoutingCondition, index: int) -> None:
    if when.band is not None and when.band not in _bands_of(kind):
        raise _rule(f"{kind} questions have no {when.band} band", index, "when", "band")
    scale = scale_for(kind)
    for name in ("score_at_most", "score_at_least"):
        score = getattr(when, name)
        if score is not None and not scale.contains(score):
            raise _rule(f"{score} is outside the {kind} scale {scale.describe()}", index, "when", name)


def _maybe_render(text: str, context: Mapping[str, Any] | None) -> str:
    return render_template(text, context) if context is not None else text


def _normal_tag(tag: str) -> str:
    return tag.replace("_", "-").lower()
