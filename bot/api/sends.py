"""POST /api/v1/flows/{key}/sends: a flow sent to a list of contacts (see bot.bulk)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from bot.api.schemas import BulkSendIn, BulkSendOut, BulkSkip
from bot.bulk import BulkRecipient, send_flow_to_list
from bot.http_json import json_body
from bot.inputs import new_contact
from bot.runtime import runtime


def send_to_list(key: str) -> Response:
    payload = json_body(BulkSendIn)
    recipients = [BulkRecipient(index, new_contact(r.contact), r.properties)
                  for index, r in enumerate(payload.recipients)]
    report = send_flow_to_list(runtime(), key, recipients, payload.campaign, payload.dry_run)
    skipped = [BulkSkip(reason=reason, count=count, examples=report.examples[reason])
               for reason, count in report.skipped.most_common()]
    body = BulkSendOut(dry_run=payload.dry_run, scheduled=report.scheduled, already=report.already, skipped=skipped)
    return jsonify(body.model_dump(mode="json"))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/flows/<key>/sends", "send_flow_to_list", send_to_list, methods=["POST"])
