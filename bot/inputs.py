"""What every surface that takes input shares: the event as the outside world writes it (the API's
POST /events, the sandbox's "Start a survey") and the field types behind it (times, time zones, closed
choices), so each surface checks the same things the same way before it calls a service."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from bot.bulk import BulkRecipient
from bot.ingest import NewContact, NewEvent
from channels.registry import ADDRESS_KINDS, normalize_address

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


def new_event(payload: EventIn) -> NewEvent:
    """The service's input from the API's body: the contact fields the caller set, and only those; the
    generic addresses beside the named ones (all are addresses by kind to the service)."""
    return NewEvent(payload.type, payload.idempotency_key, new_contact(payload.contact), payload.properties,
                    payload.occurred_at)


# A contact list (CSV) for a bulk send: these columns are the contact's; `attr.NAME` columns are its attributes,
# `prop.NAME` columns the event's properties, and a column named after an address kind is that address.
LIST_FIELDS = ("external_id", "name", "email", "phone", "slack_user_id", "locale", "timezone")


@dataclass(frozen=True)
class ListProblem:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


def _contact_of(row: dict[str, str]) -> dict[str, Any]:
    contact: dict[str, Any] = {}
    for column, value in row.items():
        if column in LIST_FIELDS:
            contact[column] = value
        elif column.startswith("attr."):
            contact.setdefault("attributes", {})[column.removeprefix("attr.")] = value
        elif not column.startswith("prop."):
            contact.setdefault("addresses", {})[column] = value
    return contact


def read_contact_list(lines: Iterable[str]) -> tuple[list[BulkRecipient], list[ListProblem]]:
    """The rows of a CSV contact list, each checked as the API checks a contact; every problem names its line."""
    reader = csv.DictReader(lines)
    header = [name.strip() for name in reader.fieldnames or []]
    if "external_id" not in header:
        return [], [ListProblem(1, "external_id", "the header must name an external_id column")]
    unknown = [name for name in header if name not in LIST_FIELDS and not name.startswith(("attr.", "prop."))
               and name not in ADDRESS_KINDS]
    if unknown:
        return [], [ListProblem(1, unknown[0], "unknown column; use a contact field, an address kind "
                                f"({', '.join(ADDRESS_KINDS)}), attr.NAME or prop.NAME")]
    recipients, problems = [], []
    for row in reader:
        line = reader.line_num
        values = {name.strip(): (value or "").strip() for name, value in row.items() if name is not None}
        filled = {name: value for name, value in values.items() if value}
        try:
            contact = ContactIn.model_validate(_contact_of(filled))
        except ValidationError as exc:
            problems += [ListProblem(line, ".".join(str(p) for p in error["loc"]) or "row",
                                     error["msg"].removeprefix("Value error, ")) for error in exc.errors()]
            continue
        properties = {name.removeprefix("prop."): value for name, value in filled.items() if name.startswith("prop.")}
        recipients.append(BulkRecipient(line, new_contact(contact), properties))
    return recipients, problems


def new_contact(contact: ContactIn) -> NewContact:
    """The service's contact from a checked one: the fields the caller set, addresses beside the named ones."""
    fields = contact.model_dump(exclude={"external_id", "addresses"}, exclude_unset=True)
    fields |= contact.addresses or {}
    return NewContact(contact.external_id, fields)
