"""FakeSlack must look like slack.com/api to the real ``slack_sdk`` WebClient.

Slack channel tests trust the fake, so these tests pin what the client really does against it: the URL it joins,
JSON vs form bodies, how ``ok: false`` and 429 surface as SlackApiError, the RateLimitErrorRetryHandler honouring
Retry-After, single-use trigger_ids; and that our signed payloads are the ones slack_sdk's SignatureVerifier and
slack_bolt accept, shaped like Slack's own fixtures. No database, no network beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from tests.fakes.slack_api import (
    FakeSlack,
    block_actions_payload,
    event_body,
    interaction_body,
    sign,
    url_verification_body,
    view_submission_payload,
)

TOKEN = "xoxb-test-token"
SECRET = "test-signing-secret"
SLACK_FIXTURES = Path(__file__).resolve().parents[1] / "channels" / "slack" / "fixtures"
BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "How likely are you to recommend us?"}},
    {
        "type": "actions",
        "block_id": "score",
        "elements": [{"type": "button", "action_id": "score_9", "text": {"type": "plain_text", "text": "9"}}],
    },
]
MODAL = {
    "type": "modal",
    "callback_id": "comment",
    "private_metadata": "survey=1",
    "title": {"type": "plain_text", "text": "Tell us more"},
    "blocks": [],
}


def fixture(name: str) -> dict[str, Any]:
    return json.loads((SLACK_FIXTURES / name).read_text())


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(TOKEN) as running:
        running.add_user("U1", "ana@example.com", "ana")
        running.add_channel("C1", "general")
        yield running


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.base_url, timeout=5)


def api_error(excinfo: pytest.ExceptionInfo[SlackApiError]) -> str:
    return excinfo.value.response["error"]


def test_auth_test_hits_api_path_with_bearer_token(fake: FakeSlack, client: WebClient) -> None:
    response = client.auth_test()

    assert response["ok"] is True
    assert (response["team_id"], response["user_id"], response["bot_id"]) == ("T1", "U0BOT", "B1")
    assert response.api_url == f"{fake.base_url}auth.test"
    (request,) = fake.requests
    assert (request.method, request.http_method, request.status) == ("auth.test", "POST", 200)
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_base_url_needs_the_api_segment_but_not_the_trailing_slash(fake: FakeSlack) -> None:
    # WebClient adds a missing "/" and then urljoins the method, so only a base_url without "/api" goes astray
    assert WebClient(token=TOKEN, base_url=fake.base_url.rstrip("/")).auth_test()["ok"] is True
    root = WebClient(token=TOKEN, base_url=fake.base_url.removesuffix("api/"))
    with pytest.raises(SlackApiError) as excinfo:
        root.auth_test()
    assert excinfo.value.response.status_code == 404
    assert api_error(excinfo) == "unknown_method"
    assert urlsplit(excinfo.value.response.api_url).path == "/auth.test"


def test_wrong_or_missing_token(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as wrong:
        WebClient(token="xoxb-wrong", base_url=fake.base_url).auth_test()
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=fake.base_url).auth_test()

    assert api_error(wrong) == "invalid_auth"
    assert wrong.value.response.status_code == 200
    assert api_error(missing) == "not_authed"


def test_dm_with_blocks_is_recorded_and_updated(fake: FakeSlack, client: WebClient) -> None:
    channel = client.conversations_open(users="U1")["channel"]["id"]
    posted = client.chat_postMessage(channel=channel, text="Quick question", blocks=BLOCKS)

    assert channel.startswith("D") and fake.dm_channel("U1") == channel
    assert posted["channel"] == channel and posted["message"]["blocks"] == BLOCKS
    (message,) = fake.messages(channel)
    assert (message["ts"], message["text"], message["blocks"]) == (posted["ts"], "Quick question", BLOCKS)
    opened, post = fake.requests
    assert (opened.body_format, opened.params) == ("form", {"users": "U1"})
    assert (post.body_format, post.params["blocks"]) == ("json", BLOCKS)

    updated = client.chat_update(channel=channel, ts=posted["ts"], text="Thanks!", blocks=[])

    assert updated["ts"] == posted["ts"] and updated["text"] == "Thanks!"
    (message,) = fake.messages("U1")
    assert (message["text"], message["blocks"]) == ("Thanks!", [])
    assert message["edited"]["user"] == "U0BOT"


def test_conversations_open_twice_reuses_the_dm(client: WebClient) -> None:
    first = client.conversations_open(users=["U1"])
    second = client.conversations_open(users="U1")

    assert first["channel"]["id"] == second["channel"]["id"]
    assert second["already_open"] is True and "already_open" not in first.data


def test_form_encoded_blocks_arrive_as_json_strings(fake: FakeSlack, client: WebClient) -> None:
    response = client.api_call("chat.postMessage", params={"channel": "C1", "text": "hi", "blocks": json.dumps(BLOCKS)})

    (request,) = fake.requests
    assert request.body_format == "form" and request.params["blocks"] == BLOCKS
    assert fake.messages("C1")[0]["blocks"] == BLOCKS and response["channel"] == "C1"


@pytest.mark.parametrize(
    ("channel", "setup", "expected"),
    [
        ("C404", None, "channel_not_found"),
        ("C2", {"is_archived": True}, "is_archived"),
        ("C2", {"is_member": False}, "not_in_channel"),
    ],
)
def test_post_to_unusable_channel(
    fake: FakeSlack, client: WebClient, channel: str, setup: dict[str, bool] | None, expected: str
) -> None:
    if setup is not None:
        fake.add_channel("C2", "closed", **setup)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=channel, text="hello")
    assert api_error(excinfo) == expected
    assert fake.messages(channel) == []


def test_update_of_unknown_message(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel="C1", ts="1.000001", text="x")
    assert api_error(excinfo) == "message_not_found"


def test_post_ephemeral(fake: FakeSlack, client: WebClient) -> None:
    response = client.chat_postEphemeral(channel="C1", user="U1", text="Only you can see this")

    (message,) = fake.ephemeral_messages("C1")
    assert (message["recipient"], message["ts"]) == ("U1", response["message_ts"])
    assert fake.messages("C1") == []


def test_users_lookup_and_info(client: WebClient) -> None:
    user = client.users_lookupByEmail(email="ANA@example.com")["user"]
    with pytest.raises(SlackApiError) as excinfo:
        client.users_lookupByEmail(email="nobody@example.com")

    assert (user["id"], user["name"], user["profile"]["email"]) == ("U1", "ana", "ana@example.com")
    assert isinstance(user["tz_offset"], int)
    assert api_error(excinfo) == "users_not_found"
    assert client.users_info(user="U1")["user"]["id"] == "U1"


def test_views_open_trigger_is_single_use(fake: FakeSlack, client: WebClient) -> None:
    view = client.views_open(trigger_id="123.456.abc", view=MODAL)["view"]
    with pytest.raises(SlackApiError) as reused:
        client.views_open(trigger_id="123.456.abc", view=MODAL)
    fake.expire_trigger("789.012.def")
    with pytest.raises(SlackApiError) as expired:
        client.views_open(trigger_id="789.012.def", view=MODAL)

    assert view["id"].startswith("V") and (view["callback_id"], view["private_metadata"]) == ("comment", "survey=1")
    assert fake.views == [view]
    assert api_error(reused) == "exchanged_trigger_id"
    assert api_error(expired) == "expired_trigger_id"
    assert fake.calls("views.open")[0].body_format == "json"


def test_rate_limit_without_retry_handler_raises_429(fake: FakeSlack, client: WebClient) -> None:
    fake.rate_limit_next("chat.postMessage", 1, retry_after=7)

    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C1", text="hi")

    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] == "7"
    assert api_error(excinfo) == "ratelimited"
    assert client.chat_postMessage(channel="C1", text="hi")["ok"] is True


def test_rate_limit_retry_handler_waits_retry_after_then_succeeds(fake: FakeSlack, client: WebClient) -> None:
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    fake.rate_limit_next("chat.postMessage", 1, retry_after=1)

    started = time.monotonic()
    response = client.chat_postMessage(channel="C1", text="hi")

    assert response["ok"] is True and time.monotonic() - started >= 1
    assert [r.status for r in fake.calls("chat.postMessage")] == [429, 200]
    assert len(fake.messages("C1")) == 1


def test_fail_next_then_recover_and_reset(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", "internal_error")
    fake.fail_next("*", "fatal_error", status=500)

    with pytest.raises(SlackApiError) as first:
        client.chat_postMessage(channel="C1", text="hi")
    with pytest.raises(SlackApiError) as second:
        client.auth_test()

    assert api_error(first) == "internal_error" and first.value.response.status_code == 200
    assert api_error(second) == "fatal_error" and second.value.response.status_code == 500
    fake.fail_next("auth.test", "internal_error", count=3)
    fake.reset()
    assert client.auth_test()["ok"] is True
    assert [r.method for r in fake.requests] == ["auth.test"]


def test_concurrent_posts_get_distinct_increasing_ts(fake: FakeSlack, client: WebClient) -> None:
    threads = [
        threading.Thread(target=client.chat_postMessage, kwargs={"channel": "C1", "text": "x"}) for _ in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    stamps = [m["ts"] for m in fake.messages("C1")]
    assert len(stamps) == 20 and len(set(stamps)) == 20
    assert stamps == sorted(stamps, key=float)


def test_sign_is_accepted_by_slack_sdk_and_tampering_is_not() -> None:
    body = interaction_body(block_actions_payload("U1", "score_9", "9", "D1", "1.000001"))
    headers = sign(body, SECRET)
    verifier = SignatureVerifier(SECRET)

    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert verifier.is_valid_request(body.encode(), headers)
    assert not verifier.is_valid(body + "x", headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert not verifier.is_valid_request(body, sign(body, SECRET, int(time.time()) - 301))


def test_sign_matches_slack_sdk_published_vector() -> None:
    # slackapi/python-slack-sdk tests/slack_sdk/signature/test_signature_verifier.py
    # (see tests/channels/twilio/fixtures/signature_vectors.md)
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    headers = sign(body.encode(), "8f742231b10e8888abcd99yyyzzz85a5", 1531420618)

    assert headers == {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }


def test_block_actions_payload_matches_fixture_shape() -> None:
    payload = block_actions_payload("U1", "score_9", "9", "D1", "1.000001")
    expected = fixture("block_actions.json")

    assert payload.keys() == expected.keys()
    assert payload["actions"][0].keys() == expected["actions"][0].keys()
    assert payload["container"].keys() == expected["container"].keys()
    assert payload["user"].keys() == expected["user"].keys()
    assert (payload["actions"][0]["action_id"], payload["actions"][0]["value"]) == ("score_9", "9")
    assert payload["trigger_id"] != block_actions_payload("U1", "a", "v", "D1", "1.0")["trigger_id"]


def test_view_submission_payload_matches_fixture_shape() -> None:
    payload = view_submission_payload("U1", "comment", "survey=1", {"comment": {"text": "Great service"}})
    expected = fixture("view_submission.json")

    assert payload.keys() == expected.keys()
    assert payload["view"].keys() == expected["view"].keys()
    assert payload["view"]["state"]["values"] == {
        "comment": {"text": {"type": "plain_text_input", "value": "Great service"}}
    }
    assert (payload["view"]["callback_id"], payload["view"]["private_metadata"]) == ("comment", "survey=1")


def test_interaction_body_encodes_like_the_fixture() -> None:
    expected = (SLACK_FIXTURES / "block_actions.form-urlencoded.txt").read_text().strip()
    assert interaction_body(fixture("block_actions.json")) == expected


def test_event_bodies_match_fixture_shape() -> None:
    event = {"type": "message", "text": "9", "user": "U1", "channel": "D1", "ts": "1.000001", "channel_type": "im"}
    envelope = json.loads(event_body(event, enterprise_id="E1"))

    assert envelope.keys() == fixture("event_callback_message.json").keys()
    assert envelope["type"] == "event_callback" and envelope["event"] == event
    assert envelope["event_id"] != json.loads(event_body(event))["event_id"]
    assert json.loads(url_verification_body("abc")).keys() == fixture("url_verification.json").keys()


def test_bolt_app_accepts_signed_click_and_opens_modal_on_fake(fake: FakeSlack) -> None:
    app = App(token=TOKEN, signing_secret=SECRET, client=fake.client(TOKEN), process_before_response=True)
    seen: list[str] = []

    @app.action("score_9")
    def on_score(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        seen.append(body["actions"][0]["value"])
        client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    body = interaction_body(block_actions_payload("U1", "score_9", "9", "D1", "1.000001"))
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, SECRET)}
    response = app.dispatch(BoltRequest(body=body, headers=headers))
    forged = app.dispatch(BoltRequest(body=body, headers={**headers, "X-Slack-Signature": "v0=00"}))

    assert response.status == 200 and seen == ["9"]
    assert [r.method for r in fake.requests] == ["auth.test", "views.open"]
    assert forged.status == 401
