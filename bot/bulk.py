"""Bulk sends: one flow to a list of contacts (a relationship survey), as if its trigger event happened now.

Each contact becomes an event of the flow's trigger type with the idempotency key `bulk:<flow>:<campaign>:<id>`,
so the same list sent twice in one campaign sends nothing twice, and a list that grew sends only to the new
rows. The flow alone is started (not the other flows of its event type); its `where` filters, eligibility,
opt-outs and throttle hold as for any event, and the worker paces the sends by each channel's limits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.errors import FlowDisabled, FlowNotFound
from bot.ingest import IngestResult, NewContact, NewEvent, ingest_event, plan_event
from bot.runtime import Runtime
from storage.flow_versions import current_flow


@dataclass(frozen=True)
class BulkRecipient:
    """A row of the list: where it came from (for messages), who, and the event's properties."""

    line: int
    contact: NewContact
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class BulkReport:
    scheduled: int = 0  # surveys scheduled (or, in a dry run, that would be)
    already: int = 0  # contacts this campaign had already taken (sent or skipped then)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> contacts
    examples: dict[str, list[int]] = field(default_factory=dict)  # reason -> first lines with it


def _event_type(rt: Runtime, flow_key: str) -> str:
    with rt.session() as session:
        flow = current_flow(session, flow_key)
    if flow is None:
        raise FlowNotFound(flow_key)
    if not flow.enabled:
        raise FlowDisabled(f"flow {flow_key} is disabled; enable it before sending it to a list")
    return rt.definition(flow).trigger.event


def _note(report: BulkReport, reason: str, line: int) -> None:
    report.skipped[reason] += 1
    lines = report.examples.setdefault(reason, [])
    if len(lines) < 5:
        lines.append(line)


def _tally(report: BulkReport, result: IngestResult, line: int) -> None:
    if result.duplicate:
        report.already += 1
    elif result.deliveries:
        report.scheduled += 1
    elif result.skipped:
        _note(report, result.skipped[0][1], line)
    else:
        _note(report, f"no match: {result.unmatched[0][1]}" if result.unmatched else "no match", line)


def send_flow_to_list(
    rt: Runtime,
    flow_key: str,
    recipients: Iterable[BulkRecipient],
    campaign: str,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> BulkReport:
    """Schedule (or, with `dry_run`, only check) the flow for every recipient; see the module's docstring."""
    event_type = _event_type(rt, flow_key)
    report, seen = BulkReport(), set()
    for recipient in recipients:
        external_id = recipient.contact.external_id
        if external_id in seen:
            _note(report, "listed twice", recipient.line)
        else:
            seen.add(external_id)
            event = NewEvent(event_type, f"bulk:{flow_key}:{campaign}:{external_id}", recipient.contact,
                             recipient.properties)
            result = plan_event(rt, event, flow_key) if dry_run else ingest_event(rt, event, only_flow=flow_key)
            _tally(report, result, recipient.line)
        if progress is not None:
            progress(1)
    return report
