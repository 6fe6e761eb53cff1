"""/api/v1/themes/proposals: themes the worker proposes from comments no theme covers, and admins' decisions."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from bot.api.params import ID
from bot.api.schemas import (
    DiscoveryOut,
    ThemeAcceptIn,
    ThemeMergeIn,
    ThemeProposalList,
    ThemeProposalOut,
    ThemeProposalsQuery,
)
from bot.discovery import Shown, accept, discover, merge, reject, shown
from bot.http_json import json_body, query
from bot.runtime import runtime
from storage.models import ThemeProposal


def proposal_out(row: ThemeProposal, examples: list[str]) -> ThemeProposalOut:
    return ThemeProposalOut(id=row.id or 0, status=row.status, words=list(row.words), examples=examples,
                            size=row.size, name=row.name, keywords=row.keywords, merged_into=row.merged_into,
                            created_at=row.created_at, decided_at=row.decided_at)


def _one(row: ThemeProposal) -> Response:
    found = {s.row.id: s for s in shown(runtime())}
    item: Shown | None = found.get(row.id)
    return jsonify(proposal_out(row, item.examples if item else []).model_dump(mode="json"))


def list_all() -> Response:
    params = query(ThemeProposalsQuery)
    items = [proposal_out(s.row, s.examples) for s in shown(runtime(), params.status)]
    return jsonify(ThemeProposalList(items=items).model_dump(mode="json"))


def run_discovery() -> Response:
    """Propose now (the worker does it daily): undecided proposals are replaced."""
    return jsonify(DiscoveryOut(proposed=discover(runtime())).model_dump(mode="json"))


def accept_one(proposal_id: int) -> Response:
    payload = json_body(ThemeAcceptIn)
    return _one(accept(runtime(), proposal_id, payload.name, payload.keywords))


def reject_one(proposal_id: int) -> Response:
    return _one(reject(runtime(), proposal_id))


def merge_some() -> Response:
    payload = json_body(ThemeMergeIn)
    return _one(merge(runtime(), payload.ids))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/themes/proposals", "list_theme_proposals", list_all, methods=["GET"])
    bp.add_url_rule("/themes/proposals/discover", "discover_themes", run_discovery, methods=["POST"])
    bp.add_url_rule("/themes/proposals/merge", "merge_theme_proposals", merge_some, methods=["POST"])
    bp.add_url_rule(f"/themes/proposals/<{ID}:proposal_id>/accept", "accept_theme_proposal", accept_one,
                    methods=["POST"])
    bp.add_url_rule(f"/themes/proposals/<{ID}:proposal_id>/reject", "reject_theme_proposal", reject_one,
                    methods=["POST"])
