"""/app/admin/themes: an admin reads the proposed themes and accepts, rejects or merges them; agents cannot."""

from __future__ import annotations

from flask.testing import FlaskClient

from bot.runtime import Runtime
from storage.models import Role
from tests.bot.test_theme_discovery import proposed  # noqa: F401  (the fixture: four proposals stored)
from tests.web_client import add_user, alert, sign_in, submit, unnamed_controls

PAGE = "/app/admin/themes"


def signed_in(client: FlaskClient, rt: Runtime, role: Role) -> FlaskClient:
    sign_in(client, f"{role.value}@example.com", add_user(rt, f"{role.value}@example.com", role))
    return client


def test_an_admin_accepts_rejects_and_merges_proposals(client: FlaskClient, rt: Runtime,
                                                       proposed: dict[str, dict]) -> None:  # noqa: F811
    admin = signed_in(client, rt, Role.ADMIN)
    html = admin.get(PAGE).get_data(as_text=True)
    assert '<a href="/app/admin/themes" aria-current="page">Themes</a>' in html
    for word, item in proposed.items():
        assert f"Proposal {item['id']}: {word}" in html and f"<q>{item['examples'][0]}</q>" in html
    assert unnamed_controls(html) == []

    parking, music, tills, trolleys = (proposed[w]["id"] for w in ("parking", "music", "tills", "trolleys"))
    blank = submit(admin, PAGE, f"{PAGE}/{parking}/accept", {"name": " ", "keywords": "parking"})
    assert blank.status_code == 422 and alert(blank) == "Name must be 1 to 64 characters"
    done = submit(admin, PAGE, f"{PAGE}/{parking}/accept", {"name": "Parking", "keywords": "parking, car park"})
    assert done.status_code == 303
    html = admin.get(PAGE).get_data(as_text=True)
    assert "Parking is a theme now: parking, car park." in html
    assert "<strong>Parking</strong>: parking, car park" in html
    assert f"Proposal {parking}:" not in html

    assert submit(admin, PAGE, f"{PAGE}/{music}/reject", {}).status_code == 303
    merged = submit(admin, PAGE, PAGE + "/merge", {"merge": [str(tills), str(trolleys)]})
    assert merged.status_code == 303
    html = admin.get(PAGE).get_data(as_text=True)
    assert f"Proposal {music}:" not in html and f"Proposal {tills}:" not in html and "Merged into proposal" in html
    again = submit(admin, PAGE, f"{PAGE}/{music}/reject", {})
    assert again.status_code == 409 and alert(again) == f"Theme proposal {music} is already rejected"


def test_agents_cannot_see_or_change_proposals(client: FlaskClient, rt: Runtime,
                                               proposed: dict[str, dict]) -> None:  # noqa: F811
    agent = signed_in(client, rt, Role.AGENT)
    assert agent.get(PAGE).status_code == 403
    assert "/app/admin/themes" not in agent.get("/app/cases").get_data(as_text=True)
