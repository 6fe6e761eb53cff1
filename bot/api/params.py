"""Query and path parameters, held to the same rule as bodies: a wrong one is a 422 that names it."""

from __future__ import annotations

from typing import TypeVar

from flask import request
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, select

from bot.api.errors import ApiError, field_errors
from bot.api.schemas import MAX_ID
from flows.inputs import unstorable
from storage.models import Flow

Q = TypeVar("Q", bound=BaseModel)
# The converter for ids in paths: one past any id the database can hold is "no such id", a 404 like any other.
ID = f"int(min=1, max={MAX_ID})"


def invalid_parameter(name: str, message: str) -> ApiError:
    return ApiError(422, "invalid", f"bad {name}", [{"field": name, "message": message}])


def reject_unstorable_url() -> None:
    """Before any v1 view: a text the database cannot store (NUL) in the path or query is nobody's id or filter."""
    for name, value in [*(request.view_args or {}).items(), *request.args.items(multi=True)]:
        problem = unstorable(value) if isinstance(value, str) else None
        if problem:
            raise invalid_parameter(name, problem)


def query(model: type[Q]) -> Q:
    """The query string as `model` (the first value of a repeated parameter)."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        details = field_errors(exc, unknown="unknown parameter")
        raise ApiError(422, "invalid", f"bad {', '.join(d['field'] for d in details)}", details) from None


def known_flow(session: Session, key: str | None) -> str | None:
    """A flow filter must name a flow that exists or existed (retired flows keep their answers)."""
    if key is not None and session.exec(select(Flow.id).where(Flow.key == key).limit(1)).first() is None:
        raise invalid_parameter("flow", "no such flow")
    return key
