"""Theme discovery's services: the worker proposes themes from comments no theme covers; admins decide.

An accepted proposal joins the taxonomy under the admin's name, with keywords (by default its typical words); a
name the taxonomy already has adds the keywords to that theme. Several proposals can be merged into one (still a
proposal, to accept or reject), and a proposal can be rejected. Only undecided proposals are replaced when the
worker proposes again, so decisions stay on record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.errors import InvalidValue, NotFound, ServiceError
from bot.runtime import Runtime
from flows.discovery import propose
from storage.models import ThemeProposal
from storage.themes import (
    ACCEPTED,
    MERGED,
    PROPOSED,
    REJECTED,
    comments,
    decide,
    list_proposals,
    proposal,
    replace_proposals,
    uncovered_comments,
)

log = logging.getLogger("touchpoint.discovery")

DISCOVERY_LIMIT = 5_000
MIN_COMMENTS = 30
GROUPS = 9
MIN_SIZE = 5
STATUSES = (PROPOSED, ACCEPTED, REJECTED, MERGED)


class ProposalDecided(ServiceError):
    def __init__(self, row: ThemeProposal) -> None:
        super().__init__(f"theme proposal {row.id} is already {row.status}")


@dataclass(frozen=True)
class Shown:
    """A proposal with its example comments (read from the answers, so an erased answer's text is gone too)."""

    row: ThemeProposal
    examples: list[str]


def discover(rt: Runtime) -> int:
    """New proposals from the newest comments no theme covers; the number proposed (0 with too few comments)."""
    with rt.session() as session:
        rt.refresh_themes(session.connection())
        found = uncovered_comments(session, DISCOVERY_LIMIT)
        if len(found) < MIN_COMMENTS:
            return 0
        ids = [rid for rid, _ in found]
        # Few comments make few groups: about eight comments a group at least, nine groups at most.
        count = max(2, min(GROUPS, len(found) // 8))
        groups = propose([text for _, text in found], groups=count, min_size=MIN_SIZE)
        rows = replace_proposals(session, [(g.words, [ids[i] for i in g.examples], len(g.members)) for g in groups])
    log.info("%s theme proposals from %s comments no theme covers", len(rows), len(found))
    return len(rows)


def shown(rt: Runtime, status: str | None = None) -> list[Shown]:
    if status is not None and status not in STATUSES:
        raise InvalidValue("status", f"status must be one of {', '.join(STATUSES)}")
    with rt.session() as session:
        rows = list_proposals(session, status)
        texts = comments(session, [i for row in rows for i in row.examples])
    return [Shown(row, [texts[i] for i in row.examples if i in texts]) for row in rows]


def _undecided(session: object, proposal_id: int) -> ThemeProposal:
    row = proposal(session, proposal_id)  # type: ignore[arg-type]
    if row is None:
        raise NotFound("theme proposal", proposal_id)
    if row.status != PROPOSED:
        raise ProposalDecided(row)
    return row


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > 64:
        raise InvalidValue("name", "name must be 1 to 64 characters")
    return name


def accept(rt: Runtime, proposal_id: int, name: str, keywords: list[str] | None = None) -> ThemeProposal:
    """The proposal joins the taxonomy as `name` (renamed as the admin wants), with `keywords` or its words."""
    name = _clean_name(name)
    with rt.session() as session:
        row = _undecided(session, proposal_id)
        chosen = [" ".join(k.split()).lower() for k in (keywords if keywords is not None else row.words)]
        chosen = [k for k in dict.fromkeys(chosen) if k]
        if not chosen:
            raise InvalidValue("keywords", "give at least one keyword")
        row = decide(session, row, ACCEPTED, name=name, keywords=chosen)
    rt.forget_themes()
    return row


def reject(rt: Runtime, proposal_id: int) -> ThemeProposal:
    with rt.session() as session:
        return decide(session, _undecided(session, proposal_id), REJECTED)


def merge(rt: Runtime, proposal_ids: list[int]) -> ThemeProposal:
    """One new proposal from several: their words (most shared first), examples and sizes together."""
    if len(set(proposal_ids)) < 2:
        raise InvalidValue("ids", "name at least two proposals to merge")
    with rt.session() as session:
        rows = [_undecided(session, i) for i in dict.fromkeys(proposal_ids)]
        words = list(dict.fromkeys(w for row in rows for w in row.words))
        merged = ThemeProposal(words=words[:12], examples=[e for row in rows for e in row.examples][:6],
                               size=sum(row.size for row in rows))
        session.add(merged)
        session.flush()
        for row in rows:
            decide(session, row, MERGED, merged_into=merged.id)
        return merged
