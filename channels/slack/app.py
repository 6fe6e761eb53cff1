"""Slack's requests to us, through Bolt: button clicks, modal submissions, DMs, and OAuth installs.

Bolt checks the signing secret of every request. Each listener is split in two (Bolt's process_before_response
with lazy listeners): what must be stored before Slack hears "ok" (a click's score, a comment, a claim) runs
before the ack and takes milliseconds of our own database work, so an acknowledged answer is never lost;
everything that talks to Slack or a provider again (updating the message, opening a modal, sending an agent's
reply, answering a DM) runs after the ack, in Bolt's listener threads. Events that Slack retries carry the
same message id, which the inbox stores once.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Blueprint, Response, request
from slack_bolt import Ack, App, BoltContext
from slack_bolt.adapter.flask.handler import to_bolt_request, to_flask_response
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

from channels.base import CaseActionError, CaseView, Inbound, Inbox, ReplyMode, SurveyView
from channels.slack.blocks import (
    CASE_CLAIM,
    CASE_REPLY,
    CASE_RESOLVE,
    COMMENT_ACTION,
    COMMENT_VIEW,
    REPLY_VIEW,
    RESOLVE_VIEW,
    SCORE_ACTION,
    answered_blocks,
    case_card,
    choice_of,
    closed_blocks,
    comment_modal,
    comment_of,
    reply_modal,
    resolve_modal,
)
from channels.slack.workspaces import Installations, SlackConfig
from flows.inputs import storable

log = logging.getLogger("touchpoint.slack")


class _QuietAboutOurOwnToken(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN by itself and warns that it goes unused beside our client; it does not: our
    authorize hands it to every request."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "will be unused" not in record.getMessage()


log.addFilter(_QuietAboutOurOwnToken())
Body = dict[str, Any]


def slack_blueprint(
    config: SlackConfig, installations: Installations, inbox: Inbox, listeners: ThreadPoolExecutor
) -> Blueprint:
    """Bolt's app as a blueprint; its lazy listeners run on `listeners`, which the channel shuts down."""
    client = WebClient(base_url=config.api_url, timeout=int(config.timeout))
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    authorizer = Authorizer(installations, client)
    app = App(
        signing_secret=config.signing_secret,
        client=client,
        authorize=lambda team_id: authorizer.result_for(team_id),  # Bolt passes arguments by their names
        process_before_response=True,  # the ack comes when our own work is stored; Slack's API calls come after
        listener_executor=listeners,
        logger=log,
    )
    _survey_listeners(app, inbox)
    _case_listeners(app, inbox)
    _uninstall_listeners(app, installations, authorizer)
    bp = Blueprint("slack", __name__)

    @bp.post("/slack/events")
    def events() -> Response:
        try:
            bolt_request = to_bolt_request(request)  # parses the body, before any signature check
        except RecursionError:
            return Response("the body is nested too deeply", status=400)
        return to_flask_response(app.dispatch(bolt_request))

    if config.oauth:
        flow = OAuthFlow(client=client, logger=log, settings=OAuthSettings(
            client_id=config.client_id,
            client_secret=config.client_secret,
            scopes=list(config.scopes),
            installation_store=installations,
            state_store=SQLAlchemyOAuthStateStore(expiration_seconds=600, engine=installations.engine),
            install_path="/slack/install",
            redirect_uri_path="/slack/oauth_redirect",
            redirect_uri=f"{config.public_url}/slack/oauth_redirect",
        ))

        @bp.get("/slack/install")
        def install() -> Response:
            return to_flask_response(flow.handle_installation(to_bolt_request(request)))

        @bp.get("/slack/oauth_redirect")
        def oauth_redirect() -> Response:
            return to_flask_response(flow.handle_callback(to_bolt_request(request)))

    return bp


class Authorizer:
    """Bolt's authorize: the workspace's bot token (an OAuth install, else SLACK_BOT_TOKEN) with the bot's own
    identity from auth.test, kept for ten minutes per process so that a click costs no extra round trip."""

    ttl = 600.0

    def __init__(self, installations: Installations, client: WebClient) -> None:
        self.installations, self.client = installations, client
        self._known: dict[str | None, tuple[AuthorizeResult, float]] = {}

    def result_for(self, team_id: str | None) -> AuthorizeResult | None:
        known = self._known.get(team_id)
        if known is not None and known[1] > time.monotonic():
            return known[0]
        token = self.installations.token_for(team_id)
        if token is None:
            return None
        result = AuthorizeResult.from_auth_test_response(
            bot_token=token, auth_test_response=self.client.auth_test(token=token))
        self._known[team_id] = (result, time.monotonic() + self.ttl)
        return result

    def forget(self, team_id: str | None) -> None:
        self._known.pop(team_id, None)


def _uninstall_listeners(app: App, installations: Installations, authorizer: Authorizer) -> None:
    def uninstalled(body: Body) -> None:
        team_id, enterprise_id = body.get("team_id"), body.get("enterprise_id")
        installations.delete_all(enterprise_id=enterprise_id, team_id=team_id)
        authorizer.forget(team_id)

    app.event("app_uninstalled")(ack=_ack, lazy=[uninstalled])
    app.event("tokens_revoked")(ack=_ack, lazy=[uninstalled])


def _survey_listeners(app: App, inbox: Inbox) -> None:
    def record_score(ack: Ack, action: Body, context: BoltContext) -> None:
        token, _, text = action["value"].partition(":")
        context["survey"] = inbox.answer(token, text)
        ack()

    def show_score(body: Body, context: BoltContext, client: WebClient) -> None:
        _show_survey(client, *_message_of(body), context.get("survey"))

    app.action(re.compile(f"^{SCORE_ACTION}_"))(ack=record_score, lazy=[show_score])

    def open_comment_box(body: Body, action: Body, client: WebClient) -> None:
        view = inbox.survey(action["value"])
        if view is None or not view.open:
            _show_survey(client, *_message_of(body), view)
            return
        channel, ts = _message_of(body)
        metadata = json.dumps({"token": view.token, "channel": channel, "ts": ts})
        client.views_open(trigger_id=body["trigger_id"], view=comment_modal(view, metadata))

    app.action(COMMENT_ACTION)(ack=_ack, lazy=[open_comment_box])

    def record_comment(ack: Ack, view: Body, context: BoltContext) -> None:
        text = storable(comment_of(view["state"]["values"])).strip()  # the customer's words, never refused
        if not text:
            ack(response_action="errors", errors={"comment": "Write a comment, or close this window."})
            return
        context["survey"] = inbox.answer(json.loads(view["private_metadata"])["token"], text)
        ack()

    def show_comment(view: Body, context: BoltContext, client: WebClient) -> None:
        if "survey" in context:
            where = json.loads(view["private_metadata"])
            _show_survey(client, where["channel"], where["ts"], context["survey"])

    app.view(COMMENT_VIEW)(ack=record_comment, lazy=[show_comment])

    def receive_dm(event: Body) -> None:
        event = storable(event)
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return
        message_id = event.get("client_msg_id") or f"{event['channel']}:{event['ts']}"
        inbox.receive(Inbound("slack", event["user"], event.get("text") or "", message_id, dict(event)),
                      ReplyMode.SEND)

    app.event("message")(ack=_ack, lazy=[receive_dm])


def _ack(ack: Ack) -> None:
    ack()


def _message_of(body: Body) -> tuple[str, str]:
    """The channel and ts of the message whose button was clicked."""
    return body["container"]["channel_id"], body["container"]["message_ts"]


def _show_survey(client: WebClient, channel: str, ts: str, view: SurveyView | None) -> None:
    text, blocks = answered_blocks(view) if view is not None else closed_blocks(None)
    client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)


def _case_listeners(app: App, inbox: Inbox) -> None:
    def claim(ack: Ack, body: Body, action: Body, context: BoltContext) -> None:
        _case_action(context, body["user"], lambda actor: inbox.claim_case(int(action["value"]), actor))
        ack()

    def resolve(ack: Ack, body: Body, action: Body, context: BoltContext) -> None:
        """At once while the admins keep no root causes; otherwise a modal asks for one (after the ack)."""
        causes = inbox.root_causes()
        if causes:
            context["root_causes"] = causes
        else:
            _case_action(context, body["user"], lambda actor: inbox.resolve_case(int(action["value"]), actor))
        ack()

    def show_case(body: Body, context: BoltContext, client: WebClient) -> None:
        _show_case(client, _message_of(body), body["user"], context)

    def resolved_or_ask(body: Body, action: Body, context: BoltContext, client: WebClient) -> None:
        if "root_causes" not in context:
            _show_case(client, _message_of(body), body["user"], context)
            return
        case = inbox.case(int(action["value"]))
        if case is not None and case.status == "resolved":
            context["case"], context["refusal"] = case, f"Case #{case.id} is resolved already."
            _show_case(client, _message_of(body), body["user"], context)
        elif case is not None:
            metadata = json.dumps({"case": case.id, "card": _message_of(body)})
            client.views_open(trigger_id=body["trigger_id"],
                              view=resolve_modal(case, context["root_causes"], metadata))

    app.action(CASE_CLAIM)(ack=claim, lazy=[show_case])
    app.action(CASE_RESOLVE)(ack=resolve, lazy=[resolved_or_ask])

    def record_resolution(ack: Ack, body: Body, view: Body, context: BoltContext) -> None:
        """Stored before the ack; a refusal (the case was resolved meanwhile) shows in the modal, which stays."""
        values = view["state"]["values"]
        cause, note = choice_of(values, "root_cause"), storable(comment_of(values, "note")).strip() or None
        case_id = int(json.loads(view["private_metadata"])["case"])
        _case_action(context, body["user"], lambda actor: inbox.resolve_case(case_id, actor, cause, note))
        if "refusal" in context:
            ack(response_action="errors", errors={"root_cause": context["refusal"][:150]})
            return
        ack()

    def show_resolution(body: Body, view: Body, context: BoltContext, client: WebClient) -> None:
        if "case" in context:
            card = json.loads(view["private_metadata"])["card"]
            _show_case(client, tuple(card), body["user"], context)

    app.view(RESOLVE_VIEW)(ack=record_resolution, lazy=[show_resolution])

    def open_reply_box(body: Body, action: Body, client: WebClient) -> None:
        case = inbox.case(int(action["value"]))
        if case is not None:
            metadata = json.dumps({"case": case.id, "card": _message_of(body)})
            channels = inbox.reply_channels(case.id) if case.status != "resolved" else []
            client.views_open(trigger_id=body["trigger_id"], view=reply_modal(case, metadata, channels))

    app.action(CASE_REPLY)(ack=_ack, lazy=[open_reply_box])

    def check_reply(ack: Ack, view: Body) -> None:
        if not comment_of(view["state"]["values"], "reply").strip():
            ack(response_action="errors", errors={"reply": "Write the message to send."})
            return
        ack()

    def send_reply(body: Body, view: Body, context: BoltContext, client: WebClient) -> None:
        """After the ack: the reply goes through the customer's provider, which may take longer than Slack waits."""
        text = storable(comment_of(view["state"]["values"], "reply")).strip()
        if not text:
            return
        where = json.loads(view["private_metadata"])
        channel = choice_of(view["state"]["values"], "channel")
        _case_action(context, body["user"],
                     lambda actor: inbox.reply_to_case(int(where["case"]), actor, text, channel))
        _show_case(client, tuple(where["card"]), body["user"], context)

    app.view(REPLY_VIEW)(ack=check_reply, lazy=[send_reply])


def _case_action(context: BoltContext, user: Body, action: Callable[[str], CaseView]) -> None:
    """Do what the agent asked, as them; the outcome (or the refusal) is left for the card update."""
    actor = f"{user.get('username') or user.get('name') or user['id']} (Slack {user['id']})"
    try:
        context["case"] = action(actor)
    except CaseActionError as refusal:
        context["refusal"] = str(refusal)


def _show_case(client: WebClient, card: tuple[str, str], user: Body, context: BoltContext) -> None:
    """The card shows the case as it now is; a refusal goes to the agent alone."""
    channel, ts = card
    if "refusal" in context:
        client.chat_postEphemeral(channel=channel, user=user["id"], text=context["refusal"])
    if "case" in context:
        text, blocks = case_card(context["case"])
        client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
