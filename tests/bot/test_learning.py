"""The learned layer as a deployment lives it: answers teach the model, agents correct tags, a bad model is
rolled back."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from bot.cli import main
from bot.learning import retrain, rollback
from bot.runtime import Runtime
from tests.helpers import event, flow_yaml, install_flow, tick

COMPLAINT = "the portal logs me out every time"
PRAISE = "the portal has a new dashboard"


def phone(i: int) -> str:
    return f"+4479111{i:05d}"


def answer(rt: Runtime, client: FlaskClient, auth: dict, replies: list[str], start: int = 0) -> list[dict]:
    """Each reply from a new customer, through the API, as they arrive; returns the stored responses."""
    for i in range(start, start + len(replies)):
        contact = {"external_id": f"cust-{i}", "phone": phone(i)}
        assert client.post("/api/v1/events", json=event(f"evt-{i}", contact=contact), headers=auth).status_code < 300
    tick(rt)
    for i, text in enumerate(replies, start):
        client.post("/api/v1/sandbox/inbound", json={"channel": "sms", "from": phone(i), "text": text}, headers=auth)
    return all_responses(client, auth)[start:]


def all_responses(client: FlaskClient, auth: dict) -> list[dict]:
    items: list[dict] = []
    cursor = None
    while True:
        page = client.get("/api/v1/responses", query_string={"cursor": cursor} if cursor else {},
                          headers=auth).get_json()
        items += page["items"]
        if not (cursor := page["next_cursor"]):
            return items


def cli(database_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"TOUCHPOINT_LOG_LEVEL": "WARNING",
                                                      "TOUCHPOINT_DATABASE_URL": database_url})
    return result.exit_code, result.stdout if result.exit_code == 0 else result.stderr


@pytest.fixture
def flow(rt: Runtime) -> None:
    install_flow(rt, flow_yaml(ask="never"))


@pytest.mark.usefixtures("flow")
def test_a_correction_changes_the_stored_answer(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    [response] = answer(rt, client, auth, ["9 - the delivery was on time"])
    assert response["sentiment"]["label"] == "positive" and response["themes"] == ["delivery"]
    url = f"/api/v1/responses/{response['id']}/corrections"
    corrected = client.post(url, json={"sentiment": "negative", "themes": ["price", "delivery"]}, headers=auth)
    assert corrected.status_code == 200
    body = corrected.get_json()
    assert body["sentiment"]["label"] == "negative" and body["themes"] == ["delivery", "price"]
    assert body["mismatch"] is True  # a promoter's score with a negative comment
    [stored] = client.get("/api/v1/responses", headers=auth).get_json()["items"]
    assert (stored["sentiment"]["label"], stored["themes"]) == ("negative", ["delivery", "price"])
    metrics = client.get("/api/v1/metrics", headers=auth).get_json()
    assert metrics["sentiment"]["negative"] == 1 and metrics["sentiment"]["positive"] == 0


@pytest.mark.usefixtures("flow")
def test_a_comment_in_another_language_is_marked_not_misread(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    """The English word lists would read "muy malo, nadie me llamó" as nothing at all, or wrong: it is marked."""
    spanish, english = answer(rt, client, auth, ["2 - el servicio fue muy malo, nadie me llamó",
                                                 "2 - the delivery was late again"])
    assert (spanish["language"], spanish["sentiment"]["label"], spanish["themes"]) == ("es", "unknown", [])
    assert (english["language"], english["sentiment"]["label"], english["themes"]) == ("en", "negative",
                                                                                       ["delivery"])


@pytest.mark.usefixtures("flow")
def test_bad_corrections_are_refused_naming_the_field(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    [commented, bare] = answer(rt, client, auth, ["9 - quick", "9"])
    url = f"/api/v1/responses/{commented['id']}/corrections"
    cases = [({}, "body"), ({"sentiment": "angry"}, "sentiment"), ({"themes": "price"}, "themes"),
             ({"themes": ["weather"]}, "themes"), ({"sentiment": "negative", "extra": 1}, "extra")]
    for body, field in cases:
        refused = client.post(url, json=body, headers=auth)
        assert refused.status_code == 422, body
        assert refused.get_json()["error"]["details"][0]["field"] == field
    missing = client.post("/api/v1/responses/999999/corrections", json={"sentiment": "negative"}, headers=auth)
    assert missing.status_code == 404
    no_comment = client.post(f"/api/v1/responses/{bare['id']}/corrections", json={"sentiment": "negative"},
                             headers=auth)
    assert no_comment.status_code == 409 and no_comment.get_json()["error"]["code"] == "no_comment"
    [unchanged, _] = client.get("/api/v1/responses", headers=auth).get_json()["items"]
    assert unchanged["sentiment"]["label"] == "positive"


@pytest.mark.usefixtures("flow")
def test_the_model_learns_the_deployments_words_and_rolls_back(
    rt: Runtime, client: FlaskClient, auth: dict, database_url: str
) -> None:
    [first] = answer(rt, client, auth, [f"5 - {COMPLAINT}"])
    assert first["sentiment"]["label"] == "neutral"  # the lexicon alone cannot know this complaint
    assert retrain(rt).reason == "too few comments with a score band or a correction"

    replies = [f"1 - {COMPLAINT}", f"10 - {PRAISE}"] * 40
    answer(rt, client, auth, replies, start=1)
    trained = retrain(rt)
    assert (trained.version, trained.examples) == (1, 81)
    assert retrain(rt).reason == "nothing new"
    [learned] = answer(rt, client, auth, [f"6 - {COMPLAINT}"], start=81)
    assert learned["sentiment"]["label"] == "negative"

    code, listing = cli(database_url, "model", "list")
    assert code == 0 and listing.splitlines()[0].startswith("* v1 ") and "81 comments (0 corrected)" in listing

    assert rollback(rt) is None
    [after] = answer(rt, client, auth, [f"6 - {COMPLAINT}"], start=82)
    assert after["sentiment"]["label"] == "neutral"
    assert retrain(rt).reason == "held after a rollback"

    code, output = cli(database_url, "model", "train")
    assert code == 0 and output.startswith("v2 active: 83 comments")
    code, output = cli(database_url, "model", "rollback", "1")
    assert code == 0 and output.splitlines()[0] == "v1 active"
    code, output = cli(database_url, "model", "rollback", "7")
    assert code == 1 and "model version 7 does not exist" in output
    code, listing = cli(database_url, "model", "list")
    assert [line[:4] for line in listing.splitlines()] == ["  v2", "* v1"]


@pytest.mark.usefixtures("flow")
def test_corrections_teach_the_next_model(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    replies = [f"8 - {COMPLAINT}", f"10 - {PRAISE}", "1 - useless"] * 30
    responses = answer(rt, client, auth, replies)
    for response in responses[::3]:
        url = f"/api/v1/responses/{response['id']}/corrections"
        assert client.post(url, json={"sentiment": "negative"}, headers=auth).status_code == 200
    trained = retrain(rt)
    assert (trained.examples, trained.corrections) == (90, 30)
    [learned] = answer(rt, client, auth, [f"9 - {COMPLAINT}"], start=90)
    assert learned["sentiment"]["label"] == "negative"


def test_no_model_is_listed_before_training(database_url: str, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    code, output = cli(database_url, "model", "list")
    assert code == 0 and output.startswith("no model yet")
