"""Twilio's requests to us, each checked against its signature: inbound messages and status callbacks.

Replies to an inbound message go back in the webhook's own TwiML answer rather than through a second API
call: the customer's thanks cannot be lost between accepting their message and calling the API, there is no
extra request to pace or retry, and Twilio queues the reply on the same sender. Each TwiML reply carries a
status callback URL with our message id, so its delivery is tracked like any other message.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from channels.base import ChannelError, DeliveryState, Inbound, Inbox, ReplyMode, StatusReport
from channels.twilio.transport import OPTED_OUT, TwilioTransport
from flows.gsm7 import to_gsm7
from flows.inputs import storable

log = logging.getLogger("touchpoint.twilio")

STATES = {
    "queued": DeliveryState.ACCEPTED, "accepted": DeliveryState.ACCEPTED, "scheduled": DeliveryState.ACCEPTED,
    "sending": DeliveryState.SENT, "sent": DeliveryState.SENT, "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.READ, "undelivered": DeliveryState.FAILED, "failed": DeliveryState.FAILED,
    "canceled": DeliveryState.FAILED,
}


def webhooks(channel: str, transport: TwilioTransport, inbox: Inbox) -> Blueprint:
    """Inbound messages and status callbacks, each checked against Twilio's signature."""
    bp = Blueprint(f"twilio_{channel}", __name__)
    validator = RequestValidator(transport.config.auth_token)

    def verified() -> dict[str, str]:
        url = transport.config.public_url + request.path
        if request.query_string:
            url += "?" + request.query_string.decode()
        # The whole form, repeated fields included: Twilio signs every parameter it sends.
        if not validator.validate(url, request.form, request.headers.get("X-Twilio-Signature", "")):
            log.warning("rejected a %s webhook with a missing or wrong signature from %s", channel,
                        request.remote_addr)
            abort(403)
        return storable(request.form.to_dict())  # a customer's message is kept, whatever characters it has

    def inbound() -> Response:
        params = verified()
        if not params.get("MessageSid") or not params.get("From"):
            return _twiml(MessagingResponse())
        message = Inbound(channel, params["From"], params.get("Body", ""), params["MessageSid"], params)
        # With Advanced Opt-Out, Twilio has already answered STOP, START or HELP itself.
        mode = ReplyMode.DROP if params.get("OptOutType") else ReplyMode.INLINE
        answer = MessagingResponse()
        for reply in inbox.receive(message, mode):
            answer.message(_reply_body(transport, reply.message.text),
                           status_callback=transport.status_callback(reply.message_id))
        return _twiml(answer)

    def status() -> tuple[str, int]:
        params = verified()
        state = STATES.get(params.get("MessageStatus", ""))
        if state is None or not params.get("MessageSid"):
            return "", 204
        code = params.get("ErrorCode") or None
        our_id = request.args.get("message", type=int)
        inbox.status(StatusReport(channel, params["MessageSid"], state, params["MessageStatus"], code,
                                  params.get("ErrorMessage"), opted_out=code == OPTED_OUT, our_message_id=our_id))
        return "", 204

    bp.add_url_rule(f"/webhooks/twilio/{channel}", f"{channel}_inbound", inbound, methods=["POST"])
    bp.add_url_rule(transport.config.status_path, f"{channel}_status", status, methods=["POST"])
    return bp


def _reply_body(transport: TwilioTransport, text: str) -> str:
    try:
        return transport.prepare(text)
    except ChannelError:
        return to_gsm7(text)[:1600]


def _twiml(answer: MessagingResponse) -> Response:
    return Response(str(answer), status=200, mimetype="text/xml")
