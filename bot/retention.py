"""Retention, run by the worker: answers' texts after TOUCHPOINT_RETAIN_TEXT_DAYS, provider payloads after
TOUCHPOINT_RETAIN_RAW_DAYS. Every worker may run it; clearing what is already clear changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.runtime import Runtime
from storage.retention import forget_answer_texts, forget_raw_payloads

log = logging.getLogger("touchpoint.retention")
BATCH = 1000


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
    text_days, raw_days = rt.settings.retain_text_days, rt.settings.retain_raw_days
    texts = _in_batches(rt, forget_answer_texts, now - timedelta(days=text_days)) if text_days else 0
    payloads = _in_batches(rt, forget_raw_payloads, now - timedelta(days=raw_days)) if raw_days else 0
    if texts or payloads:
        log.info("retention cleared texts=%d payloads=%d", texts, payloads)
    return RetentionReport(texts, payloads)
