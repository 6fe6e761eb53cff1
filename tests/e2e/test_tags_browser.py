"""Tags that learn, in a real browser against `touchpoint run`: an admin reads the proposed themes on
/app/admin/themes, accepts one under a name of their own and rejects another; an agent finds a detractor's case,
says its sentiment is wrong and that its comment is about the theme just accepted, in one click each, and sees
both on the case page; the corrections are stored for the next model. No script error, no CSP violation."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from storage.db import make_engine
from storage.models import Response, TaggingCorrection, ThemeProposal
from storage.themes import replace_proposals
from tests.e2e.browser import needs_chromium
from tests.e2e.processes import Server, cli
from tests.e2e.test_close_the_loop import answer
from tests.e2e.test_web_app_browser import new_user_page
from tests.e2e.test_web_cases_browser import survey
from tests.helpers import DETRACTORS_TO_RECOVERY, flow_yaml

pytestmark = needs_chromium

COMMENT = "Great, the parking was full again"  # the lexicon reads "great" and calls it positive; no theme covers it



def seed_proposals(server: Server) -> dict[str, int]:
    """Two proposals, stored as the worker's discovery stores them, the detractor's comment an example of the
    first."""
    engine = make_engine(server.env["TOUCHPOINT_DATABASE_URL"])
    with Session(engine) as session:
        [response_id] = session.exec(select(Response.id).where(col(Response.comment) == COMMENT)).all()
        rows = replace_proposals(session, [(["parking", "full", "spaces"], [response_id], 12),
                                           (["music", "loud", "playing"], [], 7)])
        ids = {row.words[0]: row.id for row in rows}
        session.commit()
    engine.dispose()
    return {word: int(i) for word, i in ids.items() if i is not None}


def test_an_admin_decides_proposals_and_an_agent_corrects_the_tags_in_one_click(server: Server,
                                                                                 browser: Any) -> None:
    flow_file = server.cwd / "nps.yaml"
    flow_file.write_text(flow_yaml("web-nps", extra=DETRACTORS_TO_RECOVERY), encoding="utf-8")
    cli(server.env, "flows", "import", str(flow_file), cwd=server.cwd)
    ada = {"external_id": "ada", "name": "Ada Lovelace", "phone": "+447911123456"}
    survey(server, "order-1", ada)
    answer(server, ada["phone"], "2")
    answer(server, ada["phone"], COMMENT)
    proposals = seed_proposals(server)
    parking, music = proposals["parking"], proposals["music"]
    problems: list[str] = []

    admin = new_user_page(browser, server, "olga@example.com", "admin", problems)
    admin.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    admin.get_by_role("main").get_by_role("link", name="Themes").click()
    admin.wait_for_url(server.url + "/app/admin/themes")
    assert admin.get_by_role("heading", name=f"Proposal {parking}: parking, full, spaces").count() == 1
    first = admin.locator("article.proposal", has=admin.get_by_role("heading", name=f"Proposal {parking}:"))
    assert "12 comments, for example:" in first.inner_text() and COMMENT in first.locator("q").inner_text()
    assert admin.get_by_label(f"Keywords for proposal {parking} (comma-separated)").input_value() == \
        "parking, full, spaces"
    admin.get_by_label(f"Theme name for proposal {parking}").fill("Car park")
    admin.get_by_label(f"Keywords for proposal {parking} (comma-separated)").fill("parking, car park")
    admin.get_by_role("button", name=f"Accept proposal {parking}").click()
    admin.wait_for_url(server.url + "/app/admin/themes")
    assert admin.get_by_role("status").text_content().strip() == "Car park is a theme now: parking, car park."
    assert admin.get_by_role("heading", name=f"Proposal {parking}:").count() == 0
    admin.get_by_role("button", name=f"Reject proposal {music}").click()
    admin.wait_for_url(server.url + "/app/admin/themes")
    assert admin.get_by_role("status").text_content().strip() == f"Proposal {music} is rejected."
    assert "No proposals." in admin.locator("section", has_text="Proposed").first.inner_text()
    assert admin.locator("section", has_text="Accepted").last.locator("li").inner_text() == \
        "Car park: parking, car park"
    engine = make_engine(server.env["TOUCHPOINT_DATABASE_URL"])
    with Session(engine) as session:
        decided = {row.id: (row.status, row.name) for row in session.exec(select(ThemeProposal)).all()}
    assert decided == {parking: ("accepted", "Car park"), music: ("rejected", None)}

    agent = new_user_page(browser, server, "sam@example.com", "agent", problems)
    agent.get_by_role("link", name="Ada Lovelace").click()
    agent.wait_for_url("**/app/cases/*")
    case_url = agent.url
    facts = agent.locator(".facts")
    assert facts.locator("div", has_text="Sentiment").locator("dd").inner_text() == "positive"
    assert facts.locator("div", has_text="Themes").locator("dd").inner_text() == "–"
    agent.get_by_text("Tags wrong?").click()
    agent.get_by_label("Right sentiment").select_option("negative")
    agent.get_by_role("button", name="Correct sentiment").click()
    agent.wait_for_url(case_url)
    assert agent.get_by_role("status").text_content().strip() == "The sentiment is now negative."
    assert facts.locator("div", has_text="Sentiment").locator("dd").inner_text() == "negative"

    agent.get_by_text("Tags wrong?").click()
    agent.get_by_label("Car park").check()  # the theme the admin accepted a moment ago is one to choose
    agent.get_by_role("button", name="Correct themes").click()
    agent.wait_for_url(case_url)
    assert agent.get_by_role("status").text_content().strip() == "The themes are now Car park."
    assert facts.locator("div", has_text="Themes").locator("dd").inner_text() == "Car park"
    agent.reload()
    assert facts.locator("div", has_text="Sentiment").locator("dd").inner_text() == "negative"
    assert agent.get_by_label("Car park").is_checked()

    with Session(engine) as session:
        stored = session.exec(select(Response).where(col(Response.comment) == COMMENT)).one()
        corrections = session.exec(select(TaggingCorrection).order_by(col(TaggingCorrection.id))).all()
    engine.dispose()
    assert (stored.sentiment, stored.themes) == ("negative", ["Car park"])
    assert [(c.response_id, c.sentiment, c.themes) for c in corrections] == [
        (stored.id, "negative", None), (stored.id, None, ["Car park"])]
    assert problems == []

