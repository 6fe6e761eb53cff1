"""Pydantic models of the HTTP API: they validate requests and generate the OpenAPI document."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from bot.case_admin import NAME_LENGTH, REPLY_LENGTH, check_name, check_reply_text
from bot.inputs import EARLIEST, LATEST, ContactIn, Strict, Time, one_of
from bot.sites import SITE_KEY, check_site_key, site_origins
from channels.registry import CHANNEL_NAMES, normalize_address
from flows.questions import Band
from flows.schema import Priority
from flows.schema import Sentiment as SentimentLabel
from storage.cases import UNRESOLVED
from storage.models import FollowUpStatus


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


class CorrectionIn(Strict):
    """An agent's correction of a response's tags: the sentiment, the themes (the whole list), or both."""

    sentiment: one_of("positive", "neutral", "negative") | None = None  # type: ignore[valid-type]
    themes: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(default=None, max_length=50)

    @model_validator(mode="after")
    def _something(self) -> CorrectionIn:
        if self.sentiment is None and self.themes is None:
            raise ValueError("give sentiment, themes or both")
        return self


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
    recheck_of: int | None = None  # the case a "did we fix it?" answer is about
    language: str | None = None  # of the comment (ISO 639-1); sentiment "unknown" when it is not English


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


class AnswerSummary(BaseModel):
    flow: str
    question: str
    score: int | None
    band: str | None
    sentiment: str | None
    themes: list[str]


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
    customer: str | None  # the contact's name
    answer: AnswerSummary
    reason: str | None
    overdue: bool
    created_at: datetime
    first_reply_at: datetime | None
    resolved_at: datetime | None
    root_cause: str | None


class FollowUpList(BaseModel):
    items: list[FollowUpOut]
    next_cursor: str | None


class ThreadMessageOut(BaseModel):
    id: int
    direction: str  # in or out
    channel: str
    kind: str  # question, reminder, thanks, agent...; for what came in, what it was taken as (score, case_reply...)
    text: str
    status: str | None


class ThreadActivityOut(BaseModel):
    kind: str
    actor: str | None
    text: str | None
    detail: str | None


class ThreadEntryOut(BaseModel):
    at: datetime
    message: ThreadMessageOut | None
    activity: ThreadActivityOut | None


class ThreadOut(BaseModel):
    items: list[ThreadEntryOut]


class PastAnswerOut(BaseModel):
    response: ResponseOut
    case_id: int | None
    case_status: str | None


class PastAnswers(BaseModel):
    items: list[PastAnswerOut]
    next_cursor: str | None


class ActivityOut(BaseModel):
    kind: str
    actor: str | None
    text: str | None
    detail: str | None  # what the step was about: the assignee, the root cause, the channel of a reply
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
    channel: one_of(*CHANNEL_NAMES) | None = Field(  # type: ignore[valid-type]
        default=None, description="one of the case's reply channels; by default the one the customer answered on")


class ReplyChannelOut(BaseModel):
    channel: str
    address: str
    answered_here: bool


class ReplyChannelList(BaseModel):
    items: list[ReplyChannelOut]


class AssignIn(Strict):
    assignee: str | None = Field(min_length=1, max_length=320, description="the teammate; null returns the case "
                                 "to the queue, unassigned")
    author: str | None = Field(default=None, max_length=320)


class ResolveIn(Strict):
    note: str | None = Field(default=None, max_length=10_000)
    root_cause: str | None = Field(default=None, min_length=1, max_length=64,
                                   description="one of the root causes the admins keep; required while there are any")
    author: str | None = Field(default=None, max_length=320)


class ReopenIn(Strict):
    reason: str | None = Field(default=None, max_length=10_000)
    author: str | None = Field(default=None, max_length=320)


class QueueFiguresOut(BaseModel):
    """How the queue closed the loop for the cases opened from `since` to `until`."""

    since: datetime
    until: datetime
    cases: int
    replied: int
    avg_first_response_seconds: float | None  # opening to the agent's first reply
    resolved: int
    avg_resolution_seconds: float | None  # opening to resolution
    sla_kept: float | None  # resolved before due, among cases resolved or already overdue (0-1)
    rechecks_answered: int  # "did we fix it?" answers with a score
    recovery_rate: float | None  # of those, the share that were not a detractor's (0-1)


class QueueOut(BaseModel):
    key: str
    name: str
    sla: str
    slack_channel: str | None
    recheck_after: str | None  # "did we fix it?" this long after resolution; None: not asked
    lead_email: str | None  # told when a case passes its due time
    overdue_assignee: str | None  # given the cases that pass their due time
    open: int  # unresolved cases, claimed or not
    due_soon: int  # unresolved and due within `due_soon` from now
    overdue: int  # unresolved and past their due time
    figures: QueueFiguresOut


class QueueList(BaseModel):
    items: list[QueueOut]


class QueuePatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    sla: str | None = None
    slack_channel: str | None = Field(default=None, max_length=64)
    recheck_after: str | None = Field(default=None, description=(
        'ask "did we fix it?" this long after a case is resolved (1m to 90d, such as 3d); null stops asking'))
    lead_email: str | None = Field(default=None, max_length=320, description=(
        "who is told by email when a case passes its due time; null: nobody"))
    overdue_assignee: str | None = Field(default=None, min_length=1, max_length=320, description=(
        "who a case is handed to when it passes its due time; null: it stays with its assignee"))

    @field_validator("lead_email")
    @classmethod
    def _lead_email(cls, value: str | None) -> str | None:
        return normalize_address("email", value) if value is not None else None


ListName = Annotated[str, Field(min_length=1, max_length=NAME_LENGTH), AfterValidator(check_name)]


class RootCauseIn(Strict):
    name: ListName


class RootCauseOut(BaseModel):
    name: str


class RootCauseList(BaseModel):
    items: list[RootCauseOut]


class SavedReplyIn(Strict):
    text: Annotated[str, Field(min_length=1, max_length=REPLY_LENGTH, description=(
        "a template: {{ contact.first_name }}, {{ score }}, {{ band }}, {{ comment }}, {{ event.<property> }}, "
        "{{ flow.name }}")), AfterValidator(check_reply_text)]


class SavedReplyOut(BaseModel):
    name: str
    text: str
    updated_at: datetime


class SavedReplyList(BaseModel):
    items: list[SavedReplyOut]


class FilledReplyOut(BaseModel):
    name: str
    text: str | None  # None when this case's data trips the template; `problem` says why
    problem: str | None


class FilledReplyList(BaseModel):
    items: list[FilledReplyOut]


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


def encode_key_cursor(at: datetime, last_id: int) -> str:
    """A keyset cursor on (time, id): the due time and id of the last case of a page, say."""
    micros = int(at.timestamp() * 1_000_000)
    return base64.urlsafe_b64encode(f"k{micros}:{last_id}".encode()).decode().rstrip("=")


def _key_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        micros, _, last_id = raw[1:].partition(":")
        if not raw.startswith("k") or not raw.isascii() or not 0 <= int(last_id) <= MAX_ID:
            raise ValueError
        at = datetime.fromtimestamp(int(micros) / 1_000_000, UTC)
        if not EARLIEST <= at < LATEST:
            raise ValueError
        return at, int(last_id)
    except (ValueError, OverflowError, OSError):
        raise ValueError("not a cursor") from None


KeyCursor = Annotated[tuple[datetime, int], BeforeValidator(_key_cursor),
                      WithJsonSchema({"type": "string", "minLength": 1})]


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
    """The inbox's filters; cases come soonest due first."""

    queue: Text | None = None
    status: one_of(*FollowUpStatus, UNRESOLVED) | None = None  # type: ignore[valid-type]
    priority: one_of(*get_args(Priority)) | None = None  # type: ignore[valid-type]
    assignee: Text | None = None
    unassigned: one_of("true", "false") | None = None  # type: ignore[valid-type]
    flow: Text | None = None
    channel: one_of(*CHANNEL_NAMES) | None = None  # type: ignore[valid-type]
    band: one_of(*Band) | None = None  # type: ignore[valid-type]
    sentiment: one_of(*get_args(SentimentLabel)) | None = None  # type: ignore[valid-type]
    theme: Text | None = None
    created_since: Time | None = None
    created_until: Time | None = None
    cursor: KeyCursor | None = None

    @field_validator("unassigned")
    @classmethod
    def _one_assignee_filter(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value == "true" and info.data.get("assignee") is not None:
            raise ValueError("cannot be combined with assignee")
        return value


class QueuesQuery(Query):
    due_soon: str | None = Field(default=None, min_length=2, max_length=8, description=(
        "how soon counts as due soon, such as 30m or 2h (from 1m to 7d; 1h by default)"))
    since: Time | None = Field(default=None, description="figures for cases opened from then (30 days ago by "
                               "default)")
    until: Time | None = Field(default=None, description="... until then (now by default)")


class AnswersQuery(Query):
    cursor: KeyCursor | None = None


class MetricsQuery(Query):
    flow: Text | None = None
    channel: one_of(*CHANNEL_NAMES) | None = None  # type: ignore[valid-type]
    since: Time | None = None
    until: Time | None = None


class SandboxMessagesQuery(Query):
    to: Text | None = None


class RecipientIn(Strict):
    contact: ContactIn
    properties: dict[str, Any] = Field(default_factory=dict)


class BulkSendIn(Strict):
    """A flow sent to a list: re-sending the same campaign to the same contacts sends nothing twice."""

    campaign: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    recipients: list[RecipientIn] = Field(min_length=1, max_length=1000)
    dry_run: bool = False


class BulkSkip(BaseModel):
    reason: str
    count: int
    examples: list[int]  # indexes into `recipients`, the first few


class BulkSendOut(BaseModel):
    dry_run: bool
    scheduled: int
    already: int
    skipped: list[BulkSkip]


class ThemeProposalOut(BaseModel):
    id: int
    status: str  # proposed, accepted, rejected, merged
    words: list[str]  # typical words, most typical first
    examples: list[str]  # comments closest to the group's centre
    size: int  # comments in the group when proposed
    name: str | None = None
    keywords: list[str] | None = None
    merged_into: int | None = None
    created_at: datetime
    decided_at: datetime | None = None


class ThemeProposalList(BaseModel):
    items: list[ThemeProposalOut]


class ThemeProposalsQuery(Query):
    status: one_of("proposed", "accepted", "rejected", "merged") | None = None  # type: ignore[valid-type]


class ThemeAcceptIn(Strict):
    """The theme's name (a new one, or one of the taxonomy's to add keywords to) and, optionally, its keywords
    (default: the proposal's typical words)."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    keywords: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(default=None, max_length=50)


class ThemeMergeIn(Strict):
    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(min_length=2, max_length=20)


class DiscoveryOut(BaseModel):
    proposed: int
