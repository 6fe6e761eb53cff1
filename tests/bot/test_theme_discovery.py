"""Theme discovery as an admin lives it: the worker proposes themes from comments no theme covers; the admin
accepts one under a name (new comments get it), merges two, rejects one; on both databases, API and CLI."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from bot.discovery import discover
from bot.runtime import Runtime
from tests.bot.test_learning import all_responses, answer, cli
from tests.helpers import flow_yaml, install_flow

SUBJECTS = {
    "parking": ["no parking near the store", "the parking was full again", "parking is too far away",
                "could not find parking anywhere", "parking spaces are narrow", "the parking barrier jammed",
                "parking is a nightmare", "need more parking"],
    "music": ["the music was far too loud", "loud music gave me a headache", "turn the music down",
              "music so loud we left", "awful music playing", "the music was deafening", "music is too loud",
              "stop the music"],
    "tills": ["only two tills open", "the tills were dreadful", "every tills queue was long", "tills kept freezing",
              "three tills for fifty people", "more tills please", "the tills beep constantly", "tills closed early"],
    "trolleys": ["trolleys had wobbly wheels", "no trolleys left outside", "trolleys were filthy",
                 "trolleys locked with coins", "squeaky trolleys everywhere", "trolleys pull left",
                 "sticky trolleys", "trolleys are tiny"],
}
URL = "/api/v1/themes/proposals"


@pytest.fixture
def proposed(rt: Runtime, client: FlaskClient, auth: dict) -> dict[str, dict]:
    install_flow(rt, flow_yaml(ask="never"))
    replies = [f"3 - {text}" for texts in SUBJECTS.values() for text in texts]
    stored = answer(rt, client, auth, replies)
    assert all(r["themes"] == [] for r in stored)  # no theme of the taxonomy covers them
    found = client.post(URL + "/discover", headers=auth)
    assert found.status_code == 200 and found.get_json() == {"proposed": 4}
    items = client.get(URL, headers=auth).get_json()["items"]
    return {item["words"][0]: item for item in items}


def test_the_worker_proposes_each_subject_with_its_words_and_examples(proposed: dict[str, dict]) -> None:
    assert sorted(proposed) == sorted(SUBJECTS)
    for word, item in proposed.items():
        assert item["status"] == "proposed" and item["size"] == 8
        assert item["examples"] and all(word in example for example in item["examples"])


def test_an_accepted_theme_tags_new_comments_and_can_be_corrected_to(
        rt: Runtime, client: FlaskClient, auth: dict, proposed: dict[str, dict]) -> None:
    url = f"{URL}/{proposed['parking']['id']}/accept"
    accepted = client.post(url, json={"name": "Parking", "keywords": ["parking", "car park"]}, headers=auth)
    assert accepted.status_code == 200
    assert (accepted.get_json()["status"], accepted.get_json()["name"]) == ("accepted", "Parking")
    answer(rt, client, auth, ["2 - the car park was closed"], start=100)
    [new] = [r for r in all_responses(client, auth) if r["comment"] == "the car park was closed"]
    assert new["themes"] == ["Parking"]
    corrected = client.post(f"/api/v1/responses/{new['id']}/corrections", json={"themes": ["Parking", "price"]},
                            headers=auth)
    assert corrected.status_code == 200 and corrected.get_json()["themes"] == ["price", "Parking"]
    again = client.post(url, json={"name": "Parking"}, headers=auth)
    assert again.status_code == 409 and "already accepted" in again.get_data(as_text=True)
    code, out = cli(rt.settings.database_url, "themes", "proposals", "--status", "accepted")
    assert code == 0 and f"#{proposed['parking']['id']}  8 comments" in out and "-> Parking: parking, car park" in out


def test_merge_and_reject(client: FlaskClient, auth: dict, proposed: dict[str, dict]) -> None:
    tills, trolleys, music = (proposed[w]["id"] for w in ("tills", "trolleys", "music"))
    merged = client.post(URL + "/merge", json={"ids": [tills, trolleys]}, headers=auth)
    assert merged.status_code == 200
    body = merged.get_json()
    assert body["status"] == "proposed" and body["size"] == 16 and {"tills", "trolleys"} <= set(body["words"])
    statuses = {i["id"]: (i["status"], i["merged_into"]) for i in client.get(URL, headers=auth).get_json()["items"]}
    assert statuses[tills] == statuses[trolleys] == ("merged", body["id"])
    rejected = client.post(f"{URL}/{music}/reject", headers=auth)
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    pending = client.get(URL, query_string={"status": "proposed"}, headers=auth).get_json()["items"]
    assert sorted(i["id"] for i in pending) == sorted([proposed["parking"]["id"], body["id"]])


def test_bad_requests_name_the_field(client: FlaskClient, auth: dict, proposed: dict[str, dict]) -> None:
    one = proposed["music"]["id"]
    blank = client.post(f"{URL}/{one}/accept", json={"name": "   "}, headers=auth)
    assert blank.status_code == 422 and "name" in blank.get_data(as_text=True)
    assert client.post(f"{URL}/999999/reject", headers=auth).status_code == 404
    alone = client.post(URL + "/merge", json={"ids": [one, one]}, headers=auth)
    assert alone.status_code == 422 and "ids" in alone.get_data(as_text=True)
    assert client.get(URL, query_string={"status": "maybe"}, headers=auth).status_code in (400, 422)


def test_too_few_uncovered_comments_propose_nothing(rt: Runtime, client: FlaskClient, auth: dict) -> None:
    install_flow(rt, flow_yaml(ask="never"))
    answer(rt, client, auth, ["3 - the parking was full"])
    assert discover(rt) == 0 and client.get(URL, headers=auth).get_json()["items"] == []
    assert len(all_responses(client, auth)) == 1
