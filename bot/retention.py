"""Retention, run by the worker: answers' texts after TOUCHPOINT_RETAIN_TEXT_DAYS (or the period an admin set on
/app/admin/settings, which overrides it), provider payloads after TOUCHPOINT_RETAIN_RAW_DAYS. Every worker may run
it; clearing what is already clear changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.audit import record
from bot.errors import InvalidValue
from bot.runtime import Runtime
from storage.audit import put_setting, setting_value
from storage.retention import forget_answer_texts, forget_raw_payloads

log = logging.getLogger("touchpoint.retention")
BATCH = 1000
TEXT_DAYS = "retain_text_days"  # the setting's key
MAX_DAYS = 3650


@dataclass(frozen=True)
class TextRetention:
    days: int | None  # None: kept until erased
    stored: int | None  # what an admin set; None: the environment's value holds
    environment: int | None


def text_retention(rt: Runtime, session: Session) -> TextRetention:
    stored = setting_value(session, TEXT_DAYS)
    environment = rt.settings.retain_text_days
    return TextRetention(stored if stored is not None else environment, stored, environment)


def set_text_retention(rt: Runtime, session: Session, days: int | None, *, actor: str) -> TextRetention:
    """Store the period (None: back to the environment's), audited with the value it replaced."""
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise InvalidValue("days", f"must be a whole number of days from 1 to {MAX_DAYS}")
    before = put_setting(session, TEXT_DAYS, days, actor)
    if before != days:
        record(session, actor, "settings", TEXT_DAYS, "updated", before=before, after=days)
    return text_retention(rt, session)


@dataclass(frozen=True)
class RetentionReport:
    texts: int = 0
    payloads: int = 0


def _in_batches(rt: Runtime, forget: Callable[[Session, datetime, int], int], before: datetime) -> int:
    total = 0
    while True:
        with rt.session() as session:
            cleared = forget(session, before, BATCH)
        total += cleared
        if cleared < BATCH:
            return total


def apply_retention(rt: Runtime, now: datetime) -> RetentionReport:
    with rt.session() as session:
        text_days = text_retention(rt, session).days
    raw_days = rt.settings.retain_raw_days
    texts = _in_batches(rt, forget_answer_texts, now - timedelta(days=text_days)) if text_days else 0
    payloads = _in_batches(rt, forget_raw_payloads, now - timedelta(days=raw_days)) if raw_days else 0
    if texts or payloads:
        log.info("retention cleared texts=%d payloads=%d", texts, payloads)
    return RetentionReport(texts, payloads)
