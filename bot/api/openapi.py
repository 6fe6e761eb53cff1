"""The OpenAPI 3.1 document, generated from the same pydantic models that validate requests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bot.api import insights
from bot.api import schemas as s
from bot.api import webhooks as wh
from bot.api.apikeys import ApiKeyList
from bot.api.audit import AuditList, AuditQuery
from bot.api.contacts import ContactExport
from bot.api.scopes import OWN_KEY, scope_of
from bot.inputs import EventIn


@dataclass(frozen=True)
class Operation:
    """One route. Errors every route of its kind can give are added to `errors` (see `statuses`)."""

    method: str
    path: str
    summary: str
    response: type[BaseModel] | None
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    path_params: tuple[str, ...] = ()
    errors: tuple[int, ...] = field(default=(401,))
    also: tuple[int, ...] = ()  # other success statuses, with the same body
    body_optional: bool = False
    csv: bool = False  # the success body is CSV text, not JSON

    def statuses(self) -> list[int]:
        """401 and 403 for the key and its scopes; 400/413/415/422 for a JSON body; 422 for query and path values;
        404 for a path."""
        codes = {401, 403, *self.errors}
        if self.body is not None:
            codes |= {400, 413, 415, 422}
        if self.query is not None:
            codes.add(422)
        if self.path_params:
            codes |= {404, 422}
        return sorted(codes)


ERRORS = {400: "malformed JSON", 401: "missing or invalid API key", 403: "the API key lacks the operation's scope",
          404: "no such resource", 409: "conflict", 413: "body too large", 415: "not JSON",
          422: "a field or parameter is not valid", 502: "the provider refused the message"}


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/events",
        "Ingest an event; schedules surveys",
        s.EventAccepted,
        202,
        EventIn,
        also=(200,),
    ),
    Operation(
        "get",
        "/deliveries/{id}",
        "One delivery with its status history and messages",
        s.DeliveryOut,
        path_params=("id",),
        errors=(401, 404),
    ),
    Operation(
        "get",
        "/responses",
        "Responses, oldest first, paginated by cursor",
        s.ResponsesPage,
        query=s.ResponsesQuery,
    ),
    Operation("get", "/followups", "Follow-up cases matching every filter, soonest due first, by cursor",
              s.FollowUpList, query=s.FollowUpsQuery),
    Operation("get", "/followups/{id}/thread", "The case's thread: survey, answers, replies and trail in time order",
              s.ThreadOut, path_params=("id",), errors=(401, 404)),
    Operation("get", "/followups/{id}/customer-answers", "The customer's answers across flows and channels, newest "
              "first, by cursor", s.PastAnswers, query=s.AnswersQuery, path_params=("id",), errors=(401, 404)),
    Operation("get", "/followups/{id}", "One case with its activity trail", s.FollowUpDetail,
              path_params=("id",), errors=(401, 404)),
    Operation("post", "/followups/{id}/claim", "Assign the case", s.FollowUpDetail, body=s.ClaimIn,
              path_params=("id",), errors=(401, 404, 409, 422), body_optional=True),
    Operation("post", "/followups/{id}/assign", "Give the case to a teammate, or back to the queue (null)",
              s.FollowUpDetail, body=s.AssignIn, path_params=("id",), errors=(401, 404, 409, 422)),
    Operation("post", "/followups/{id}/reopen", "Reopen a resolved case; it is due again one queue SLA from now",
              s.FollowUpDetail, body=s.ReopenIn, path_params=("id",), errors=(401, 404, 409, 422),
              body_optional=True),
    Operation("post", "/followups/{id}/notes", "Add an internal note", s.FollowUpDetail, body=s.NoteIn,
              path_params=("id",), errors=(401, 404, 422)),
    Operation("post", "/followups/{id}/reply", "Message the customer on the channel they answered on, or another "
              "of the case's reply channels", s.FollowUpDetail, body=s.ReplyIn, path_params=("id",),
              errors=(401, 404, 409, 422, 502)),
    Operation("get", "/followups/{id}/reply-channels", "The channels the case's customer can be written to now",
              s.ReplyChannelList, path_params=("id",), errors=(401, 404)),
    Operation("post", "/followups/{id}/resolve", "Close the case with a note and a root cause from the list",
              s.FollowUpDetail, body=s.ResolveIn,
              path_params=("id",), errors=(401, 404, 409, 422), body_optional=True),
    Operation("get", "/queues", "Follow-up queues with their open, due soon and overdue counts", s.QueueList,
              query=s.QueuesQuery),
    Operation("get", "/queues/{key}", "One queue", s.QueueOut, query=s.QueuesQuery, path_params=("key",),
              errors=(401, 404)),
    Operation("patch", "/queues/{key}", "Change a queue: name, SLA, Slack channel, re-survey, escalation", s.QueueOut,
              body=s.QueuePatch,
              path_params=("key",), errors=(401, 404, 422)),
    Operation("get", "/root-causes", "The root causes agents choose from when resolving a case", s.RootCauseList),
    Operation("post", "/root-causes", "Add a root cause to the list", s.RootCauseOut, 201, s.RootCauseIn,
              errors=(401, 409, 422)),
    Operation("delete", "/root-causes/{name}", "Take a root cause off the list; resolved cases keep theirs", None, 204,
              path_params=("name",), errors=(401, 404)),
    Operation("get", "/saved-replies", "Saved replies: templates an agent starts a reply from", s.SavedReplyList),
    Operation("get", "/saved-replies/{name}", "One saved reply", s.SavedReplyOut, path_params=("name",),
              errors=(401, 404)),
    Operation("put", "/saved-replies/{name}", "Create or replace a saved reply; its placeholders are checked",
              s.SavedReplyOut, body=s.SavedReplyIn, path_params=("name",), errors=(401, 422), also=(201,)),
    Operation("delete", "/saved-replies/{name}", "Remove a saved reply", None, 204, path_params=("name",),
              errors=(401, 404)),
    Operation("get", "/followups/{id}/saved-replies", "Every saved reply filled in for this case",
              s.FilledReplyList, path_params=("id",), errors=(401, 404)),
    Operation("get", "/metrics", "NPS, CSAT, CES, response rate and sentiment", s.MetricsOut,
              query=s.MetricsQuery),
    Operation("get", "/flows", "Current version of every flow", s.FlowList),
    Operation("get", "/flows/{key}", "One flow", s.FlowOut, path_params=("key",), errors=(401, 404)),
    Operation(
        "put",
        "/flows/{key}",
        "Create or update a flow (JSON, or YAML with Content-Type application/yaml)",
        s.FlowOut,
        path_params=("key",),
        errors=(400, 401, 413, 415, 422),
        also=(201,),
    ),
    Operation(
        "delete",
        "/flows/{key}",
        "Retire a flow; its deliveries keep their version",
        None,
        204,
        path_params=("key",),
        errors=(401, 404),
    ),
    Operation(
        "delete",
        "/contacts/{external_id}",
        "Erase a contact's personal data; anonymous scores stay in the metrics",
        None,
        204,
        path_params=("external_id",),
        errors=(401, 404, 409),
    ),
    Operation(
        "get",
        "/contacts/{external_id}/export",
        "Everything held about a contact, by table (GDPR access); audited",
        ContactExport,
        path_params=("external_id",),
        errors=(401, 404),
    ),
    Operation(
        "get",
        "/sandbox/messages",
        "Messages the sandbox transport sent",
        s.SandboxMessages,
        query=s.SandboxMessagesQuery,
        errors=(401, 404),
    ),
    Operation(
        "post",
        "/sandbox/inbound",
        "Reply as a customer on a sandboxed channel",
        s.SandboxInboundResult,
        body=s.SandboxInbound,
        errors=(401, 404, 422),
    ),
    Operation("post", "/flows/{key}/sends", "Send a flow to a list of contacts (or check it with dry_run); the same "
              "campaign sends nothing twice", s.BulkSendOut, body=s.BulkSendIn, path_params=("key",),
              errors=(401, 404, 409)),
    Operation("get", "/sites", "Web widget sites", s.SiteList),
    Operation("post", "/sites", "Create a web widget site; the response has its secret, shown only this once",
              s.SiteCreated, 201, s.SiteIn, errors=(400, 401, 409, 415, 422)),
    Operation("get", "/sites/{key}", "One web widget site", s.SiteOut, path_params=("key",), errors=(401, 404)),
    Operation("patch", "/sites/{key}", "Change a site's name, allowed origins or recontact period", s.SiteOut,
              body=s.SitePatch, path_params=("key",), errors=(400, 401, 404, 415, 422)),
)

# Corrections: an agent's tags replace the tagger's on the answer, and teach the deployment's model.
OPERATIONS += (
    Operation("post", "/responses/{id}/corrections", "Correct a response's sentiment and/or themes; the answer "
              "takes them at once and the next model learns from them", s.ResponseOut, body=s.CorrectionIn,
              path_params=("id",), errors=(401, 404, 409, 422)),
)

# Theme discovery: proposals from comments no theme covers; an admin accepts (naming it), merges or rejects.
OPERATIONS += (
    Operation("get", "/themes/proposals", "Theme proposals with typical words and example comments",
              s.ThemeProposalList, query=s.ThemeProposalsQuery, errors=(400, 401)),
    Operation("post", "/themes/proposals/discover", "Propose themes now from comments no theme covers (the worker "
              "does it daily); undecided proposals are replaced", s.DiscoveryOut, errors=(401,)),
    Operation("post", "/themes/proposals/merge", "Merge undecided proposals into a new one", s.ThemeProposalOut,
              body=s.ThemeMergeIn, errors=(400, 401, 404, 409, 415, 422)),
    Operation("post", "/themes/proposals/{id}/accept", "Accept a proposal into the taxonomy under a name, with "
              "keywords (default: its typical words)", s.ThemeProposalOut, body=s.ThemeAcceptIn,
              path_params=("id",), errors=(400, 401, 404, 409, 415, 422)),
    Operation("post", "/themes/proposals/{id}/reject", "Reject a proposal", s.ThemeProposalOut,
              path_params=("id",), errors=(401, 404, 409)),
)

# API keys: listed without the key itself, revoked at once.
OPERATIONS += (
    Operation("get", "/apikeys", "API keys: id, name, created, last used, revoked (never the key)", ApiKeyList),
    Operation("delete", "/apikeys/{id}", "Revoke an API key; every process refuses it at once (it may revoke itself)",
              None, 204, path_params=("id",), errors=(401, 404)),
)

# Insights: score series with intervals, the survey funnel, and CSV exports.
OPERATIONS += (
    Operation("get", "/insights/series", "NPS, CSAT or CES per day, week or month with 95% intervals",
              insights.SeriesPage, query=insights.SeriesQuery),
    Operation("get", "/insights/funnel", "Events matched -> eligible -> sent -> delivered -> answered -> commented",
              insights.FunnelPage, query=insights.InsightsQuery),
    Operation("get", "/insights/themes", "The most frequent themes of the comments, with their impact on the score "
              "(95% interval), their answers per bucket and example comments", insights.ThemesPage,
              query=insights.ThemesQuery),
    Operation("get", "/insights/segments", "The contact attributes and event properties tallied for the dashboard",
              insights.SegmentList),
    Operation("put", "/insights/segments/{segment}", "Tally a segment (contact.<attribute> or event.<property>) "
              "from now on, counting the answers stored (answers wait meanwhile); 200 when it already is",
              insights.SegmentList, 201, path_params=("segment",), also=(200,), errors=(401, 422)),
    Operation("delete", "/insights/segments/{segment}", "Stop tallying a segment; the dashboard counts it from the "
              "answers again", None, 204, path_params=("segment",), errors=(401, 404, 422)),
    Operation("get", "/exports/responses.csv", "Responses as CSV, streamed", None, query=insights.ExportQuery,
              csv=True),
    Operation("get", "/exports/cases.csv", "Follow-up cases as CSV, streamed", None,
              query=insights.CaseExportQuery, csv=True),
)

# Outbound webhooks: subscriptions, their recent attempts, a test event and secret rotation.
OPERATIONS += (
    Operation("get", "/webhooks", "Webhook subscriptions (never their secrets)", wh.WebhookList),
    Operation("post", "/webhooks", "Subscribe a URL to events; the response has the signing secret, shown only this "
              "once", wh.WebhookCreated, 201, wh.WebhookIn, errors=(400, 401, 415, 422)),
    Operation("get", "/webhooks/{id}", "One subscription with its recent attempts", wh.WebhookDetail,
              path_params=("id",), errors=(401, 404)),
    Operation("patch", "/webhooks/{id}", "Change a subscription's URL, events or description, or enable or disable "
              "it", wh.WebhookDetail, body=wh.WebhookPatch, path_params=("id",), errors=(400, 401, 404, 415, 422)),
    Operation("delete", "/webhooks/{id}", "Delete a subscription with its pending events and its log", None, 204,
              path_params=("id",), errors=(401, 404)),
    Operation("post", "/webhooks/{id}/secret", "Rotate the signing secret; the old one also signs for 24 hours",
              wh.WebhookSecret, path_params=("id",), errors=(401, 404)),
    Operation("post", "/webhooks/{id}/test", "Send a webhook.test event now and say what the receiver answered",
              wh.WebhookTestOut, path_params=("id",), errors=(401, 404)),
)

# The audit log: who changed which flow, queue, user, key, webhook, consent or setting.
OPERATIONS += (
    Operation("get", "/audit", "The audit log, newest first, paginated by `before`; filter by kind", AuditList,
              query=AuditQuery),
)


@cache
def openapi_document() -> dict[str, Any]:
    models: list[type[BaseModel]] = [s.ErrorOut]
    for op in OPERATIONS:
        models += [m for m in (op.body, op.response) if m is not None]
    pairs = [(m, "validation" if m in {op.body for op in OPERATIONS} else "serialization") for m in set(models)]
    _, defs = models_json_schema(pairs, ref_template="#/components/schemas/{model}")
    endpoints = _endpoints()
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, endpoints[(op.method, _shape(op.path))])
    return {
        "openapi": "3.1.0",
        "info": {"title": "Touchpoint API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": SCOPES_TEXT}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


SCOPES_TEXT = ("An API key (`touchpoint apikey create NAME --scope ...`). Each operation names the scope it needs "
               "in its security requirement and in `x-required-scope`: events:write, read, cases or admin; admin "
               "holds every scope.")


def _shape(path: str) -> str:
    """A path with its parameters blanked, so `/flows/{key}` and the rule `/flows/<key>` compare equal."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def _endpoints() -> dict[tuple[str, str], str]:
    """(method, path shape) -> the Flask endpoint serving it, to find each operation's scope."""
    prefix = "/api/v1"
    return {(method.lower(), _shape(rule.rule.removeprefix(prefix))): rule.endpoint
            for rule in current_app.url_map.iter_rules() if rule.rule.startswith(prefix + "/")
            for method in rule.methods or ()}


def _operation(op: Operation, endpoint: str) -> dict[str, Any]:
    def ref(model: type[BaseModel]) -> dict[str, Any]:
        return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}

    responses: dict[str, Any] = {}
    ok = ref(op.response) if op.response else {}
    if op.csv:
        ok = {"content": {"text/csv": {"schema": {"type": "string"}}}}
    for status in (op.status, *op.also):
        responses[str(status)] = {"description": "success", **ok}
    for code in op.statuses():
        responses[str(code)] = {"description": ERRORS.get(code, "error"), **ref(s.ErrorOut)}
    params = [{"name": n, "in": "path", "required": True, "schema": _path_schema(n)} for n in op.path_params]
    params += _query_params(op.query) if op.query else []
    scope = scope_of(endpoint)
    description = f"Needs an API key with the scope `{scope}`"
    if endpoint in OWN_KEY:
        description += ", except for a key revoking itself"
    spec: dict[str, Any] = {"summary": op.summary, "description": description + ".", "responses": responses,
                            "security": [{"bearer": [scope]}], "x-required-scope": scope}
    if params:
        spec["parameters"] = params
    if op.body is not None:
        spec["requestBody"] = {"required": not op.body_optional, **ref(op.body)}
    return spec


def _path_schema(name: str) -> dict[str, Any]:
    if name == "id":
        return {"type": "integer", "minimum": 1, "maximum": s.MAX_ID}
    return {"type": "string", "minLength": 1}


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The query model's fields as parameters: optional, each with its schema (enums, times) but not null."""
    params = []
    for name, prop in model.model_json_schema()["properties"].items():
        options = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
        schema = {k: v for k, v in options[0].items() if k not in ("title", "default")}
        params.append({"name": name, "in": "query", "required": False, "schema": schema})
    return params


def get_openapi() -> Response:
    return jsonify(openapi_document())


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/openapi.json", "openapi", get_openapi, methods=["GET"])
