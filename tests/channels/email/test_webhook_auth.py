"""An email webhook with a wrong secret is refused with 403, whatever characters the secret has."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from bot.app import create_app
from tests.conftest import make_settings

SECRET = "hook-secret"
URL = "/webhooks/email/inbound/postmark"


@pytest.fixture
def hook_client(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    monkeypatch.setenv("TOUCHPOINT_EMAIL_WEBHOOK_SECRET", SECRET)
    app = create_app(make_settings(database_url))
    yield app.test_client()
    app.extensions["touchpoint"].close()


def basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"postmark:{password}".encode()).decode()}


@pytest.mark.parametrize("wrong", ["hook-secrét", "ключ", "\u00e9" * 11])
def test_a_non_ascii_secret_is_403_like_any_wrong_secret(hook_client: FlaskClient, wrong: str) -> None:
    assert hook_client.post(URL, query_string={"secret": wrong}, json={}).status_code == 403
    assert hook_client.post(URL, headers=basic(wrong), json={}).status_code == 403


def test_the_right_secret_still_passes(hook_client: FlaskClient) -> None:
    assert hook_client.post(URL, query_string={"secret": SECRET}, json={}).status_code != 403
    assert hook_client.post(URL, headers=basic(SECRET), json={}).status_code != 403
