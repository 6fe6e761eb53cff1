"""Which scope each API operation needs: one table, keyed by the Flask endpoint.

`require_api_key` reads it on every request and the OpenAPI document shows it; a test walks the app's routes,
so an endpoint added without a line here fails. An endpoint missing from the table anyway needs `admin`.
"""

from __future__ import annotations

from storage.apikeys import ADMIN, CASES, EVENTS_WRITE, READ

# Endpoints anyone may call, without a key.
PUBLIC = frozenset({"api.openapi"})

SCOPE_OF: dict[str, str] = {
    # events:write: what a backend sends in
    "api.create_event": EVENTS_WRITE,
    "api.sandbox_inbound": EVENTS_WRITE,
    "api.send_flow_to_list": EVENTS_WRITE,  # a list is events for its contacts
    # read: figures, answers and configuration, read only
    "api.get_delivery": READ,
    "api.list_responses": READ,
    "api.get_metrics": READ,
    "api.list_flows": READ,
    "api.get_flow": READ,
    "api.list_queues": READ,
    "api.get_queue": READ,
    "api.list_sites": READ,
    "api.get_site": READ,
    "api.sandbox_messages": READ,
    "api.insights_series": READ,
    "api.insights_funnel": READ,
    "api.insights_themes": READ,  # with example comments, as /responses shows them
    "api.list_segments": READ,
    "api.export_responses": READ,  # the same answers as /responses, as CSV
    "api.export_cases": READ,
    # cases: working follow-up cases (a helpdesk integration)
    "api.list_followups": CASES,
    "api.get_followup": CASES,
    "api.claim_followup": CASES,
    "api.note_followup": CASES,
    "api.reply_followup": CASES,
    "api.resolve_followup": CASES,
    "api.assign_followup": CASES,
    "api.reopen_followup": CASES,
    "api.followup_thread": CASES,
    "api.followup_customer_answers": CASES,
    "api.followup_reply_channels": CASES,
    "api.case_saved_replies": CASES,
    "api.correct_response": CASES,  # an agent's "sentiment wrong" / "theme wrong"
    "api.list_theme_proposals": ADMIN,  # the taxonomy is the admins'
    "api.discover_themes": ADMIN,
    "api.merge_theme_proposals": ADMIN,
    "api.accept_theme_proposal": ADMIN,
    "api.reject_theme_proposal": ADMIN,
    "api.list_root_causes": CASES,  # what an agent picks from when resolving
    "api.list_saved_replies": CASES,
    "api.get_saved_reply": CASES,
    # admin: changing configuration, erasing personal data, managing keys
    "api.put_flow": ADMIN,
    "api.put_segment": ADMIN,  # picking one counts every stored answer: answers wait meanwhile
    "api.delete_segment": ADMIN,
    "api.delete_flow": ADMIN,
    "api.patch_queue": ADMIN,
    "api.delete_contact": ADMIN,
    "api.export_contact": ADMIN,  # personal data: an admin's, like erasure
    "api.create_site": ADMIN,
    "api.patch_site": ADMIN,
    "api.list_apikeys": ADMIN,
    "api.revoke_apikey": ADMIN,
    "api.create_root_cause": ADMIN,
    "api.delete_root_cause": ADMIN,
    "api.put_saved_reply": ADMIN,
    "api.delete_saved_reply": ADMIN,
    "api.list_webhooks": ADMIN,
    "api.create_webhook": ADMIN,
    "api.get_webhook": ADMIN,
    "api.patch_webhook": ADMIN,
    "api.delete_webhook": ADMIN,
    "api.rotate_webhook_secret": ADMIN,
    "api.test_webhook": ADMIN,
    "api.list_audit": ADMIN,
}

# A key may always revoke itself, whatever its scopes: stopping a leaked key must not wait for an admin key.
OWN_KEY = {"api.revoke_apikey": "key_id"}


def scope_of(endpoint: str) -> str:
    return SCOPE_OF.get(endpoint, ADMIN)
