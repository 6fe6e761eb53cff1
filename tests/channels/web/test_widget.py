"""The web widget's endpoints as the script calls them from a customer's page: identity, CORS, limits,
display rules, answers through the engine, localization; and the sites it runs on (API, CLI, migration)."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from bot.app import create_app
from bot.cli import main
from bot.flow_admin import stored_form
from bot.runtime import Runtime
from bot.settings import Settings
from channels.registry import build_channels
from flows.loader import FlowError, dump_flow, load_flow
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Contact, Message, Site, WidgetDisplay
from storage.sites import create_site
from storage.types import utcnow
from tests.helpers import flow_yaml, install_flow, tick

ORIGIN = "https://app.example.com"
ADA = "user-ada"


def web_flow(key: str = "web-nps", event: str = "feature.used", web: str = "", ask: str = "always",
             channels: str = "[web]") -> str:
    return textwrap.dedent(
        f"""\
        key: {key}
        name: Web survey {key}
        trigger:
          event: {event}
        channels: {channels}
        question:
          kind: nps
          text:
            en: "How likely are you to recommend us to a friend?"
            es: "¿Qué probabilidad hay de que nos recomiendes a un amigo?"
        comment:
          ask: {ask}
          prompt:
            en:
              detractor: "Sorry about that. What went wrong?"
              passive: "What would make it a 10?"
              promoter: "Great! What did you like most?"
            es:
              detractor: "Lo sentimos. ¿Qué salió mal?"
              passive: "¿Qué haría falta para un 10?"
              promoter: "¡Genial! ¿Qué te gustó más?"
        thanks: {{en: "Thank you!", es: "¡Muchas gracias!"}}
        routing:
          - when: {{band: detractor}}
            queue: recovery
            priority: high
            sla: 4h
        """
    ) + (f"web: {web}\n" if web else "")


class Widget:
    """The calls the script makes, from a page on `origin`."""

    def __init__(self, client: FlaskClient, public_key: str, secret: str, origin: str = ORIGIN) -> None:
        self.client, self.public_key, self.secret, self.origin = client, public_key, secret, origin

    def sign(self, user_id: str) -> str:
        return hmac.new(self.secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()

    def post(self, path: str, body: dict[str, Any], origin: str | None = None) -> Any:
        headers = {"Origin": origin or self.origin}
        return self.client.post(f"/widget/v1/{self.public_key}/{path}", json=body, headers=headers)

    def call(self, path: str, user_id: str = ADA, **fields: Any) -> Any:
        return self.post(path, {"user_id": user_id, "hash": self.sign(user_id), **fields})

    def identify(self, user_id: str = ADA, url: str = f"{ORIGIN}/app/home", **attributes: Any) -> dict | None:
        response = self.call("identify", user_id, attributes=attributes, url=url)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["survey"]


def make_site(rt: Runtime, key: str = "app", recontact_days: int = 14, origins: list[str] | None = None) -> Site:
    with rt.session() as session:
        return create_site(session, key, origins or [ORIGIN], recontact_days)


@pytest.fixture
def widget(rt: Runtime, client: FlaskClient) -> Widget:
    site = make_site(rt)
    return Widget(client, site.public_key, site.secret)


def server_event(client: FlaskClient, auth: dict, key: str, user_id: str = ADA, type_: str = "feature.used",
                 **contact: Any) -> dict:
    body = {"type": type_, "idempotency_key": key, "contact": {"external_id": user_id, **contact}}
    response = client.post("/api/v1/events", json=body, headers=auth)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def queued_survey(rt: Runtime, client: FlaskClient, auth: dict, key: str = "e-1", user_id: str = ADA,
                  **contact: Any) -> int:
    [planned] = server_event(client, auth, key, user_id, **contact)["deliveries"]
    assert planned["channel"] == "web"
    tick(rt)
    return planned["id"]


def error_of(response: Any) -> tuple[int, str, list[str]]:
    error = response.get_json()["error"]
    return response.status_code, error["code"], [detail["field"] for detail in error["details"]]


# The script


def test_the_script_is_plain_javascript_small_and_cached_for_long(client: FlaskClient) -> None:
    response = client.get("/widget/v1/touchpoint.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "max-age=86400" in response.headers["Cache-Control"]
    assert len(gzip.compress(response.data, compresslevel=9)) < 12_288
    assert b"attachShadow" in response.data and b"import " not in response.data
    again = client.get("/widget/v1/touchpoint.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_the_web_channel_runs_on_its_own_transport_and_does_not_stop_the_sandbox() -> None:
    nothing = build_channels({}, "auto", "http://x.test")
    assert nothing["web"].transport.name == "widget" and nothing["sms"].transport.name == "sandbox"
    twilio = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM": "+15005550006"}
    configured = build_channels(twilio, "auto", "http://x.test")
    assert configured["web"].transport.name == "widget" and "email" not in configured


def test_the_flows_web_block_is_validated_and_matches_url_paths() -> None:
    definition = load_flow(web_flow(web='{delay: 5s, include: ["/app/*"], exclude: ["/app/settings*"]}'), "w.yaml")
    assert definition.web is not None and definition.web.delay_seconds == 5
    paths = ("/app/reports", "/app/a/b", "/app/settings/billing", "/pricing", "/")
    assert [definition.web.allows(path) for path in paths] == [True, True, False, False, False]
    assert load_flow(dump_flow(definition), "again.yaml") == definition
    assert "web" not in stored_form(load_flow(flow_yaml(), "plain.yaml"))  # older flows keep their stored form
    with pytest.raises(FlowError) as problems:
        load_flow(web_flow(channels="[email]", web="{delay: 5s}"), "w.yaml")
    assert "web: applies to the web widget; add web to channels" in str(problems.value)
    with pytest.raises(FlowError) as problems:
        load_flow(web_flow(web='{delay: 2h, include: ["app/*"]}'), "w.yaml")
    assert "web.delay: at most 1h" in str(problems.value)
    assert "web.include.0: 'app/*' is not a URL path pattern" in str(problems.value)


# Identity


def test_a_survey_queued_by_a_server_event_shows_on_the_next_page_view(
    rt: Runtime, client: FlaskClient, auth: dict, widget: Widget
) -> None:
    install_flow(rt, web_flow())
    [planned] = server_event(client, auth, "e-1")["deliveries"]
    assert widget.identify() is None  # scheduled, not sent yet
    tick(rt)
    shown = client.get(f"/api/v1/deliveries/{planned['id']}", headers=auth).get_json()
    assert shown["status"] == "sent" and shown["history"][-1]["detail"] == "via widget"

    survey = widget.identify()
    assert survey is not None
    assert survey["question"] == "How likely are you to recommend us to a friend?"
    assert [c["score"] for c in survey["choices"]] == list(range(11))
    assert survey["choices"][8] == {"score": 8, "label": "8", "name": "8 out of 10"}
    assert survey["texts"] == {"close": "Close", "send": "Send"} and survey["delay"] == 0


def test_the_pop_up_reads_the_web_wording_and_carries_what_the_scale_ends_mean(
    rt: Runtime, client: FlaskClient, auth: dict, widget: Widget
) -> None:
    es_text = '    es: "¿Qué probabilidad hay de que nos recomiendes a un amigo?"\n'
    install_flow(rt, web_flow(channels="[web, sms]").replace("a friend?\"", "a friend? Reply 0-10.\"").replace(
        es_text, es_text + '  channel_text:\n    web: {en: "How likely are you to recommend us?"}\n'
        '  labels:\n    en: {low: "Never", high: "Definitely"}\n'))
    queued_survey(rt, client, auth)
    queued_survey(rt, client, auth, "e-2", "user-bea", locale="es")

    survey = widget.identify()
    assert survey["question"] == "How likely are you to recommend us?"
    assert survey["labels"] == {"low": "Never", "high": "Definitely"}
    assert survey["choices"][0]["name"] == "0 out of 10"
    # The web wording is English only, so Bea's labels are English too; the buttons' names follow her locale.
    bea = widget.identify("user-bea")
    assert bea["question"] == "How likely are you to recommend us?" and bea["labels"]["low"] == "Never"
    assert bea["choices"][8]["name"] == "8 de 10"


def test_without_labels_of_its_own_the_pop_up_shows_the_built_in_ones_in_the_users_language(
    rt: Runtime, client: FlaskClient, auth: dict, widget: Widget
) -> None:
    install_flow(rt, web_flow())
    queued_survey(rt, client, auth, locale="es")

    survey = widget.identify()
    assert survey["question"].startswith("¿Qué probabilidad")
    assert survey["labels"] == {"low": "Nada probable", "high": "Muy probable"}


@pytest.mark.parametrize("given", ["wrong", "other user", "missing"])
def test_without_a_valid_hash_nothing_is_visible_or_answerable(
    rt: Runtime, client: FlaskClient, auth: dict, widget: Widget, given: str
) -> None:
    install_flow(rt, web_flow())
    queued_survey(rt, client, auth)
    body: dict[str, Any] = {"user_id": ADA, "attributes": {}}
    if given == "wrong":
        body["hash"] = hmac.new(b"not the secret", ADA.encode(), hashlib.sha256).hexdigest()
    elif given == "other user":
        body["hash"] = widget.sign("user-bob")
    response = widget.post("identify", body)
    assert "survey" not in response.get_json()
    if given == "missing":
        assert error_of(response) == (422, "invalid", ["hash"])
    else:
        assert error_of(response) == (403, "identity_not_verified", [])
    token = widget.identify()["token"]  # the real user sees it
    forged = widget.post("answer", {"user_id": ADA, "hash": body.get("hash", "0" * 64), "token": token, "score": 0})
    assert forged.status_code == 403
    assert client.get("/api/v1/responses", headers=auth).get_json()["items"] == []


def test_a_token_of_someone_elses_survey_is_not_found(
    rt: Runtime, client: FlaskClient, auth: dict, widget: Widget
) -> None:
    install_flow(rt, web_flow())
    queued_survey(rt, client, auth)
    token = widget.identify()["token"]
    stolen = widget.call("answer", "user-bob", token=token, score=0)
    assert error_of(stolen) == (404, "not_found", [])
    assert widget.call("display", "user-bob", token=token, state="dismissed").status_code == 404


# CORS


def test_the_preflight_is_answered_only_for_the_sites_origins(widget: Widget, client: FlaskClient) -> None:
    url = f"/widget/v1/{widget.public_key}/identify"
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = client.options(url, headers={"Origin": ORIGIN, **preflight})
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert allowed.headers["Access-Control-Allow-Headers"].lower() == "content-type"
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    refused = client.options(url, headers={"Origin": "https://evil.example.net", **preflight})
    assert error_of(refused)[:2] == (403, "origin_not_allowed")
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_a_request_from_another_origin_is_refused_and_does_nothing(
    rt: Runtime, client: FlaskClient, auth: dict, widget: Widget
) -> None:
    install_flow(rt, web_flow())
    body = {"user_id": ADA, "hash": widget.sign(ADA), "event": "feature.used", "id": "abcdef0123456789"}
    for origin in ("https://evil.example.net", "https://app.example.com.evil.net", "http://app.example.com"):
        refused = widget.post("track", body, origin=origin)
        assert error_of(refused)[:2] == (403, "origin_not_allowed")
        assert "Access-Control-Allow-Origin" not in refused.headers
    no_origin = client.post(f"/widget/v1/{widget.public_key}/track", json=body)
    assert no_origin.status_code == 403
    with rt.session() as session:
        assert session.exec(select(Contact)).all() == []  # the event was never ingested
    accepted = widget.post("track", body)
    assert accepted.status_code == 202 and accepted.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert accepted.headers["Vary"] == "Origin"


def test_an_unknown_public_key_is_not_found(client: FlaskClient) -> None:
    response = client.post("/widget/v1/pk_nope/identify", json={}, headers={"Origin": ORIGIN})
    assert error_of(response)[:2] == (404, "not_found")


# Limits and validation


@pytest.fixture
def limited(settings: Settings, rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Flask, Widget]]:
    monkeypatch.setenv("TOUCHPOINT_WIDGET_RATE_PER_USER", "3")
    monkeypatch.setenv("TOUCHPOINT_WIDGET_RATE_PER_IP", "8")
    app = create_app(settings)
    site = make_site(rt)
    yield app, Widget(app.test_client(), site.public_key, site.secret)
    app.extensions["touchpoint"].close()


def test_too_many_calls_for_one_user_get_429_with_retry_after(limited: tuple[Flask, Widget]) -> None:
    _, widget = limited
    for _ in range(3):
        assert widget.call("identify").status_code == 200
    wrong = widget.post("identify", {"user_id": "user-bob", "hash": "0" * 64})
    assert wrong.status_code == 403  # a stranger's calls do not use up Bob's allowance
    limited_call = widget.call("identify")
    assert error_of(limited_call)[:2] == (429, "rate_limited")
    assert 1 <= int(limited_call.headers["Retry-After"]) <= 60
    assert limited_call.headers["Access-Control-Allow-Origin"] == ORIGIN  # so the script can read it
    assert widget.call("identify", "user-bob").status_code == 200


def test_every_web_process_counts_in_the_same_limit(limited: tuple[Flask, Widget], settings: Settings) -> None:
    _, widget = limited
    other = create_app(settings)  # a second web process on the same database, with the same limits
    second = Widget(other.test_client(), widget.public_key, widget.secret)
    assert [w.call("identify").status_code for w in (widget, second, widget)] == [200, 200, 200]
    assert error_of(second.call("identify"))[:2] == (429, "rate_limited")
    other.extensions["touchpoint"].close()


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_one_counted(
    settings: Settings, rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOUCHPOINT_WIDGET_RATE_PER_IP", "2")
    site = make_site(rt)
    for hops, expected in ((1, [200, 200, 200]), (0, [200, 200, 429])):
        app = create_app(settings.model_copy(update={"proxy_hops": hops}))
        client = app.test_client()
        codes = []
        for address in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
            client.environ_base["HTTP_X_FORWARDED_FOR"] = address
            codes.append(Widget(client, site.public_key, site.secret).call("identify", f"user-{hops}").status_code)
        assert codes == expected
        app.extensions["touchpoint"].close()


def test_too_many_calls_from_one_address_get_429(limited: tuple[Flask, Widget]) -> None:
    _, widget = limited
    users = [f"user-{n}" for n in range(8)]
    assert all(widget.call("identify", user).status_code == 200 for user in users)
    response = widget.call("identify", "user-9")
    assert error_of(response)[:2] == (429, "rate_limited") and int(response.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    ("path", "fields", "field"),
    [
        ("identify", {"attributes": {"locale": "not a locale"}}, "attributes"),
        ("identify", {"attributes": {"plan": {"nested": True}}}, "attributes"),
        ("identify", {"url": "javascript:alert(1)"}, "url"),
        ("identify", {"colour": "red"}, "colour"),
        ("track", {"event": "has spaces", "id": "abcdef0123456789"}, "event"),
        ("track", {"event": "feature.used", "id": "x"}, "id"),
        ("answer", {"token": "t", "score": "8"}, "score"),
        ("comment", {"token": "t", "text": "   "}, "text"),
        ("display", {"token": "t", "state": "hidden"}, "state"),
    ],
)
def test_invalid_fields_are_named(widget: Widget, path: str, fields: dict, field: str) -> None:
    assert error_of(widget.call(path, **fields)) == (422, "invalid", [field])


def test_bodies_that_are_not_json_are_refused(widget: Widget, client: FlaskClient) -> None:
    url = f"/widget/v1/{widget.public_key}/identify"
    not_json = client.post(url, data="user_id=x", headers={"Origin": ORIGIN})
    assert error_of(not_json)[:2] == (415, "unsupported_media_type")
    broken = client.post(url, data="{", headers={"Origin": ORIGIN, "Content-Type": "application/json"})
    assert error_of(broken)[:2] == (400, "malformed_json")
    huge = widget.call("identify", attributes={f"a{n}": "x" * 255 for n in range(50)} | {"b": "x" * 9000})
    assert error_of(huge)[:2] == (413, "too_large")


# Display rules


def test_a_shown_survey_starts_the_recontact_period_for_every_survey(
    rt: Runtime, client: FlaskClient, auth: dict, widget: Widget
) -> None:
    install_flow(rt, web_flow())
    install_flow(rt, web_flow("web-other"))
    server_event(client, auth, "e-1")
    tick(rt)
    first = widget.identify()
    assert widget.call("display", token=first["token"], state="shown").get_json() == {"state": "shown"}
    assert widget.identify() is None  # the other flow's survey waits out the recontact period
    with rt.session() as session:
        display = session.exec(select(WidgetDisplay)).one()
        display.shown_at = utcnow() - timedelta(days=15)
        session.add(display)
    second = widget.identify()
    assert second is not None and second["token"] != first["token"]


def test_a_dismissed_survey_is_not_shown_again_but_stays_answerable(
    rt: Runtime, client: FlaskClient, auth: dict
) -> None:
    site = make_site(rt, "no-wait", recontact_days=0)
    widget = Widget(client, site.public_key, site.secret)
    install_flow(rt, web_flow())
    delivery_id = queued_survey(rt, client, auth)
    token = widget.identify()["token"]
    widget.call("display", token=token, state="shown")
    assert widget.call("display", token=token, state="dismissed").status_code == 200
    assert widget.identify() is None
    with rt.session() as session:
        display = session.exec(select(WidgetDisplay)).one()
        assert display.dismissed_at is not None and display.shown_at <= display.dismissed_at
    assert client.get(f"/api/v1/deliveries/{delivery_id}", headers=auth).get_json()["status"] == "sent"
    assert widget.call("answer", token=token, score=9).get_json()["phase"] == "awaiting_comment"
    queued_survey(rt, client, auth, "e-2")  # with no recontact period, the next survey may show
    assert widget.identify()["token"] != token


def test_url_patterns_and_the_delay_come_from_the_flows_web_block(
    rt: Runtime, client: FlaskClient, auth: dict, widget: Widget
) -> None:
    install_flow(rt, web_flow(web='{delay: 5s, include: ["/app/*"], exclude: ["/app/settings*"]}'))
    queued_survey(rt, client, auth)
    assert widget.identify(url=f"{ORIGIN}/pricing") is None
    assert widget.identify(url=f"{ORIGIN}/app/settings/billing?tab=1") is None
    survey = widget.identify(url=f"{ORIGIN}/app/reports")
    assert survey is not None and survey["delay"] == 5


def test_a_client_event_triggers_only_flows_that_use_the_web(
    rt: Runtime, client: FlaskClient, auth: dict, widget: Widget
) -> None:
    install_flow(rt, web_flow())
    install_flow(rt, web_flow("sms-nps", channels="[sms]"))
    body = {"event": "feature.used", "properties": {"feature": "exports"}, "id": "0123456789abcdef",
            "attributes": {"locale": "es", "plan": "team"}}
    tracked = widget.call("track", **body)
    assert tracked.status_code == 202
    assert tracked.get_json()["surveys"] == 1 and tracked.get_json()["check_in"] == 0
    again = widget.call("track", **body)  # the script retried: the same event
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    tick(rt)
    assert widget.identify()["question"].startswith("¿Qué probabilidad")
    with rt.session() as session:
        contact = session.exec(select(Contact)).one()
    assert (contact.external_id, contact.locale, contact.attributes) == (ADA, "es", {"plan": "team"})


# Answers


def test_an_answer_and_comment_become_a_response_with_sentiment_and_a_follow_up(
    rt: Runtime, client: FlaskClient, auth: dict, widget: Widget
) -> None:
    install_flow(rt, web_flow())
    delivery_id = queued_survey(rt, client, auth)
    token = widget.identify()["token"]
    scored = widget.call("answer", token=token, score=3)
    assert scored.status_code == 200
    assert scored.get_json() == {"phase": "awaiting_comment", "score": 3, "open": True,
                                 "prompt": "Sorry about that. What went wrong?", "thanks": "Thank you!"}
    out_of_range = widget.call("answer", token=token, score=11)
    assert error_of(out_of_range) == (422, "invalid", ["score"])
    done = widget.call("comment", token=token, text="The export was broken and nobody answered my ticket")
    assert done.get_json()["phase"] == "closed" and done.get_json()["thanks"] == "Thank you!"
    assert error_of(widget.call("comment", token=token, text="again"))[:2] == (409, "not_awaiting_comment")

    [response] = client.get("/api/v1/responses", headers=auth).get_json()["items"]
    assert (response["delivery_id"], response["channel"], response["score"], response["band"]) == (
        delivery_id, "web", 3, "detractor")
    assert response["comment"] == "The export was broken and nobody answered my ticket"
    assert response["sentiment"]["label"] == "negative"
    [case] = client.get("/api/v1/followups", headers=auth).get_json()["items"]
    assert (case["response_id"], case["queue"], case["priority"]) == (response["id"], "recovery", "high")
    with rt.session() as session:
        assert session.exec(select(WidgetDisplay)).one().dismissed_at is None  # answering counts as shown


def test_an_agent_reply_cannot_go_through_the_widget_and_nothing_is_sent(
    rt: Runtime, client: FlaskClient, auth: dict, widget: Widget
) -> None:
    install_flow(rt, web_flow())
    queued_survey(rt, client, auth)
    token = widget.identify()["token"]
    widget.call("answer", token=token, score=1)
    [case] = client.get("/api/v1/followups", headers=auth).get_json()["items"]
    reply = client.post(f"/api/v1/followups/{case['id']}/reply", json={"text": "Sorry!"}, headers=auth)
    assert reply.status_code == 409 and "web cannot carry a reply" in reply.get_json()["error"]["message"]
    with rt.session() as session:
        assert not session.exec(select(Message).where(Message.kind == "agent")).all()


def test_texts_follow_the_users_locale_attribute(
    rt: Runtime, client: FlaskClient, auth: dict, widget: Widget
) -> None:
    install_flow(rt, web_flow())
    queued_survey(rt, client, auth)
    survey = widget.identify(locale="es")
    assert survey["lang"] == "es"
    assert survey["question"] == "¿Qué probabilidad hay de que nos recomiendes a un amigo?"
    assert survey["choices"][8]["name"] == "8 de 10" and survey["texts"] == {"close": "Cerrar", "send": "Enviar"}
    assert survey["thanks"] == "¡Muchas gracias!"
    scored = widget.call("answer", token=survey["token"], score=10).get_json()
    assert scored["prompt"] == "¡Genial! ¿Qué te gustó más?"


# Sites: API, CLI, storage


def test_sites_are_created_listed_and_changed_through_the_api(client: FlaskClient, auth: dict) -> None:
    body = {"key": "web-app", "allowed_origins": ["https://App.Example.com/", "http://localhost:3000"]}
    created = client.post("/api/v1/sites", json=body, headers=auth)
    assert created.status_code == 201
    site = created.get_json()
    assert site["public_key"].startswith("pk_") and len(site["secret"]) >= 40
    assert site["allowed_origins"] == ["https://app.example.com", "http://localhost:3000"]
    assert site["recontact_days"] == 14
    [listed] = client.get("/api/v1/sites", headers=auth).get_json()["items"]
    assert "secret" not in listed and listed["public_key"] == site["public_key"]
    patched = client.patch("/api/v1/sites/web-app", json={"allowed_origins": ["https://b.example.com"],
                                                          "recontact_days": 30}, headers=auth)
    assert patched.get_json()["allowed_origins"] == ["https://b.example.com"]
    assert client.get("/api/v1/sites/web-app", headers=auth).get_json()["recontact_days"] == 30
    assert error_of(client.post("/api/v1/sites", json=body, headers=auth))[:2] == (409, "conflict")
    bad = client.post("/api/v1/sites", json={"key": "Web App", "allowed_origins": ["app.example.com"]}, headers=auth)
    assert error_of(bad) == (422, "invalid", ["key", "allowed_origins"])
    assert client.patch("/api/v1/sites/nope", json={}, headers=auth).status_code == 404
    assert client.get("/api/v1/sites").status_code == 401


def test_a_sites_secret_stays_out_of_its_repr(rt: Runtime) -> None:
    site = make_site(rt)
    assert site.secret not in repr(site) and site.secret not in str(site) and site.public_key in repr(site)


def test_the_cli_creates_a_site_and_prints_its_keys_once(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"TOUCHPOINT_DATABASE_URL": database_url, "TOUCHPOINT_LOG_LEVEL": "WARNING"}
    run = CliRunner()
    created = run.invoke(main, ["sites", "create", "shop", "--origin", "https://shop.example.com", "--origin",
                                "http://127.0.0.1:5000", "--recontact-days", "7"], env=env)
    assert created.exit_code == 0, created.output
    lines = dict(line.split(": ", 1) for line in created.output.splitlines() if ": " in line)
    assert lines["public key"].startswith("pk_") and len(lines["secret"]) >= 40
    listed = run.invoke(main, ["sites", "list"], env=env)
    assert lines["public key"] in listed.output and "https://shop.example.com, http://127.0.0.1:5000" in listed.output
    assert lines["secret"] not in listed.output and "recontact 7d" in listed.output
    again = run.invoke(main, ["sites", "create", "shop", "--origin", "https://shop.example.com"], env=env)
    assert again.exit_code == 1 and "already exists" in again.output
    bad = run.invoke(main, ["sites", "create", "other", "--origin", "shop.example.com"], env=env)
    assert bad.exit_code == 1 and "is not an origin" in bad.output


def test_the_migration_adds_the_widget_tables_to_an_earlier_release(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0005")
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        columns = {c["name"] for c in sa.inspect(conn).get_columns("site")}
    engine.dispose()
    assert {"site", "widgetdisplay"} <= tables
    assert {"public_key", "secret", "allowed_origins", "recontact_days"} <= columns
