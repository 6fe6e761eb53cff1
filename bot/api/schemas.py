"""Pydantic models of the HTTP API: they validate requests and generate the OpenAPI document."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from bot.sites import SITE_KEY, check_site_key, site_origins
from channels.registry import CHANNEL_NAMES, normalize_address
from flows.questions import Band
from storage.models import FollowUpStatus

_LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/London") from None
    return value


# The earliest and latest times the API takes: far enough apart for any real event, and far enough from the
# ends of `datetime` that time zone shifts and a flow's delays cannot overflow it.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def parse_time(value: Any, naive_is_utc: bool = False) -> datetime:
    """An ISO 8601 time in UTC within [EARLIEST, LATEST), or a ValueError saying what is wrong."""
    if isinstance(value, datetime):
        parsed: datetime | None = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("not an ISO 8601 time") from None
    else:
        raise ValueError("not an ISO 8601 time")
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise ValueError("needs a UTC offset")
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        parsed = None
    if parsed is None or not EARLIEST <= parsed < LATEST:
        raise ValueError("must be from 1970-01-01 to 2999-12-31 (UTC)")
    return parsed


_TIME_SCHEMA = WithJsonSchema({"type": "string", "format": "date-time"})
# A time with a UTC offset (query parameters); an event's occurred_at without one is taken as UTC.
Time = Annotated[datetime, BeforeValidator(parse_time), _TIME_SCHEMA]
EventTime = Annotated[datetime, BeforeValidator(lambda v: parse_time(v, naive_is_utc=True)), _TIME_SCHEMA]


def one_of(*values: str) -> Any:
    """A string type that must be one of `values`, with a message that lists them."""
    def check(value: str) -> str:
        if value not in values:
            raise ValueError(f"must be one of {', '.join(values)}")
        return value
    return Annotated[str, AfterValidator(check), WithJsonSchema({"type": "string", "enum": list(values)})]


class Strict(BaseModel):
    """A request body: no unknown fields, and no coercion (`false` is not 0, `"3"` is not 3)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


def _with_kinds(value: Any) -> Any:
    # Each address is checked with its kind, so an error names `contact.addresses.<kind>`.
    return {kind: (kind, address) for kind, address in value.items()} if isinstance(value, dict) else value


Addresses = Annotated[
    dict[str, Annotated[tuple[str, str], AfterValidator(lambda pair: normalize_address(*pair))]],
    BeforeValidator(_with_kinds),
    WithJsonSchema({
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": "Addresses by kind for channels without a field of their own "
        '(e.g. {"telegram_chat_id": "12345"}), each checked by the channel that reads its kind.',
    }),
]


class ContactIn(Strict):
    external_id: str = Field(min_length=1, max_length=255)
    name: str | None = Field(default=None, max_length=255)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    slack_user_id: str | None = Field(default=None, max_length=64)
    locale: str | None = Field(default=None, max_length=35)
    timezone: str | None = Field(default=None, max_length=64)
    attributes: dict[str, Any] | None = None

    addresses: Addresses | None = Field(default=None, max_length=32)

    @field_validator("email", "phone", "slack_user_id")
    @classmethod
    def _address(cls, value: str | None, info: ValidationInfo) -> str | None:
        return normalize_address(info.field_name or "", value) if value is not None else None


    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return check_timezone(value) if value is not None else None

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        if value is not None and not _LOCALE.match(value):
            raise ValueError("not a locale; use a language tag such as en or pt-BR")
        return value


class EventIn(Strict):
    type: str = Field(min_length=1, max_length=128)
    idempotency_key: str = Field(min_length=1, max_length=255)
    occurred_at: EventTime | None = None
    contact: ContactIn
    properties: dict[str, Any] = Field(default_factory=dict)


class DeliverySummary(BaseModel):
    id: int
    flow: str
    channel: str
    status: str
    due_at: datetime


class Skipped(BaseModel):
    flow: str
    reason: str


class EventAccepted(BaseModel):
    event_id: int
    duplicate: bool
    deliveries: list[DeliverySummary]
    skipped: list[Skipped]


class ContactRef(BaseModel):
    external_id: str


class Sentiment(BaseModel):
    label: str | None
    polarity: float | None


class ResponseOut(BaseModel):
    id: int
    delivery_id: int
    flow: str
    channel: str
    contact: ContactRef
    question: str
    score: int | None
    band: str | None
    comment: str | None
    sentiment: Sentiment
    themes: list[str]
    mismatch: bool
    answered_at: datetime


class ResponsesPage(BaseModel):
    items: list[ResponseOut]
    next_cursor: str | None


class StatusChangeOut(BaseModel):
    status: str
    channel: str | None
    at: datetime
    detail: str | None


class MessageOut(BaseModel):
    id: int
    direction: str
    channel: str
    kind: str
    text: str
    status: str | None
    created_at: datetime


class DeliveryOut(BaseModel):
    id: int
    event_id: int
    flow: str
    flow_version: int
    contact: ContactRef
    channel: str
    channel_plan: list[str]
    status: str
    conversation: str
    due_at: datetime
    attempts: int
    sent_at: datetime | None
    answered_at: datetime | None
    expires_at: datetime | None
    last_error: str | None
    history: list[StatusChangeOut]
    messages: list[MessageOut]
    response: ResponseOut | None


class FlowOut(BaseModel):
    key: str
    version: int
    name: str
    enabled: bool
    definition: dict[str, Any]
    yaml: str


class FlowList(BaseModel):
    items: list[FlowOut]


class SandboxMessage(BaseModel):
    id: int
    channel: str
    to: str
    text: str
    delivery_id: int | None
    created_at: datetime


class SandboxMessages(BaseModel):
    items: list[SandboxMessage]


class SandboxInbound(Strict):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    channel: str = Field(min_length=1, max_length=32)
    from_: str = Field(alias="from", min_length=1, max_length=320)
    text: str = Field(max_length=5000)


class ReplyOut(BaseModel):
    kind: str
    text: str


class SandboxInboundResult(BaseModel):
    message_id: int
    duplicate: bool
    delivery_id: int | None
    intent: str | None
    replies: list[ReplyOut]


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail]


class ErrorOut(BaseModel):
    error: ErrorBody


class FollowUpOut(BaseModel):
    id: int
    response_id: int
    delivery_id: int
    queue: str
    status: str
    priority: str
    due_at: datetime
    assignee: str | None
    channel: str
    contact: ContactRef
    reason: str | None
    overdue: bool
    created_at: datetime
    resolved_at: datetime | None


class FollowUpList(BaseModel):
    items: list[FollowUpOut]
    next_cursor: str | None


class ActivityOut(BaseModel):
    kind: str
    actor: str | None
    text: str | None
    at: datetime


class FollowUpDetail(FollowUpOut):
    response: ResponseOut
    activity: list[ActivityOut]


class ClaimIn(Strict):
    assignee: str | None = Field(default=None, min_length=1, max_length=320)


class NoteIn(Strict):
    text: str = Field(min_length=1, max_length=10_000)
    author: str | None = Field(default=None, max_length=320)


class ReplyIn(Strict):
    text: str = Field(min_length=1, max_length=1600)
    author: str | None = Field(default=None, max_length=320)


class ResolveIn(Strict):
    note: str | None = Field(default=None, max_length=10_000)
    author: str | None = Field(default=None, max_length=320)


class QueueOut(BaseModel):
    key: str
    name: str
    sla: str
    slack_channel: str | None
    open: int


class QueueList(BaseModel):
    items: list[QueueOut]


class QueuePatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    sla: str | None = None
    slack_channel: str | None = Field(default=None, max_length=64)


class SentimentSplit(BaseModel):
    positive: int
    neutral: int
    negative: int


class MetricsOut(BaseModel):
    sent: int
    responses: int
    response_rate: float | None
    nps: float | None
    csat: float | None
    ces: float | None
    sentiment: SentimentSplit


# Web widget sites.

class SiteOut(BaseModel):
    key: str
    name: str
    public_key: str
    allowed_origins: list[str]
    recontact_days: int
    created_at: datetime


class SiteCreated(SiteOut):
    secret: str  # shown once, at creation: the key the site's backend signs user ids with


class SiteList(BaseModel):
    items: list[SiteOut]


class SiteIn(Strict):
    key: str = Field(json_schema_extra={"pattern": f"^{SITE_KEY.pattern}$", "maxLength": 64})
    name: str | None = Field(default=None, min_length=1, max_length=255)
    allowed_origins: list[str] = Field(min_length=1, max_length=50)
    recontact_days: int = Field(default=14, ge=0, le=365)

    _key = field_validator("key")(check_site_key)
    _allowed = field_validator("allowed_origins")(site_origins)


class SitePatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    allowed_origins: list[str] | None = Field(default=None, min_length=1, max_length=50)
    recontact_days: int | None = Field(default=None, ge=0, le=365)

    @field_validator("allowed_origins")
    @classmethod
    def _allowed(cls, value: list[str] | None) -> list[str] | None:
        return site_origins(value) if value is not None else None


# Query parameters: validated like bodies, so an unknown value is a 422 naming the parameter, not an empty page.

Text = Annotated[str, Field(min_length=1, max_length=320)]
MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"r{last_id}".encode()).decode().rstrip("=")


def _cursor_id(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("r") or not raw[1:].isascii() or not 0 <= int(raw[1:]) <= MAX_ID:
            raise ValueError
        return int(raw[1:])
    except ValueError:
        raise ValueError("not a cursor") from None


Cursor = Annotated[int, BeforeValidator(_cursor_id), WithJsonSchema({"type": "string", "minLength": 1})]


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ResponsesQuery(Query):
    flow: Text | None = None
    contact: Text | None = None
    band: one_of(*Band) | None = None  # type: ignore[valid-type]
    since: Time | None = None
    cursor: Cursor | None = None


class FollowUpsQuery(Query):
    queue: Text | None = None
    status: one_of(*FollowUpStatus) | None = None  # type: ignore[valid-type]
    cursor: Cursor | None = None


class MetricsQuery(Query):
    flow: Text | None = None
    channel: one_of(*CHANNEL_NAMES) | None = None  # type: ignore[valid-type]
    since: Time | None = None
    until: Time | None = None


class SandboxMessagesQuery(Query):
    to: Text | None = None
