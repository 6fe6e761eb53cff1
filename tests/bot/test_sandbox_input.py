"""The /sandbox pages are our own forms: text the database cannot store (NUL, lone surrogates) and JSON nested
past Python's limit get a 4xx naming the field, in the API's error shape or on the form's page; never a 500."""

from __future__ import annotations

import html

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.runtime import Runtime
from storage.models import Contact
from tests.bot.test_api_errors import fields_of
from tests.helpers import flow_yaml, install_flow

FORM = {"type": "order.delivered", "external_id": "sandbox:sam", "name": "Sam", "phone": "+447911123456",
        "properties": "country=GB"}
DEEP = "[" * 5000 + "]" * 5000


def no_contacts(rt: Runtime) -> bool:
    with rt.session() as session:
        return session.exec(select(Contact)).first() is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "Sam\u0000"), ("external_id", "sandbox:s\u0000m"), ("properties", "note=a\u0000b"), ("type", "o\u0000")],
)
def test_the_trigger_form_names_a_field_with_nul(rt: Runtime, client: FlaskClient, field: str, value: str) -> None:
    install_flow(rt, flow_yaml())
    page = client.post("/sandbox/trigger", data={**FORM, field: value})
    assert page.status_code == 422
    assert f"{field}: must not contain NUL characters" in html.unescape(page.get_data(as_text=True))
    assert no_contacts(rt)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "order.delivered", "contact": {"external_id": "sandbox:sam", "name": "S\u0000"}}, "contact.name"),
        ({"type": "order.delivered", "contact": {"external_id": "sandbox:sam"}, "properties": {"n": "\ud800"}},
         "properties.n"),
    ],
)
def test_a_json_trigger_names_a_field_with_nul(rt: Runtime, client: FlaskClient, body: dict, field: str) -> None:
    install_flow(rt, flow_yaml())
    response = client.post("/sandbox/trigger", json=body)
    assert response.status_code == 422 and fields_of(response.get_json()) == [field]
    assert no_contacts(rt)


def test_a_reply_with_nul_is_422_naming_the_text(client: FlaskClient) -> None:
    response = client.post("/sandbox/reply", json={"channel": "sms", "address": "+447911123456", "text": "9\u0000"})
    assert response.status_code == 422 and fields_of(response.get_json()) == ["text"]


@pytest.mark.parametrize("path", ["/sandbox/reply", "/sandbox/trigger"])
def test_deep_json_is_400(client: FlaskClient, path: str) -> None:
    response = client.post(path, data=DEEP, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "malformed_json"


@pytest.mark.parametrize(
    ("path", "field"),
    [("/sandbox/messages?channel=sms&address=%2B44%00", "address"), ("/sandbox/widget/identity?user=sandbox:%00",
                                                                      "user")],
)
def test_nul_in_a_query_is_422_naming_the_parameter(client: FlaskClient, path: str, field: str) -> None:
    response = client.get(path)
    assert response.status_code == 422 and fields_of(response.get_json()) == [field]
