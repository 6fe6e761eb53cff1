from __future__ import annotations

from pathlib import Path

from flows.loader import dump_flow, load_flow, load_flows
from flows.questions import QuestionKind
from flows.templates import template_context

DEMO_FLOWS = Path(__file__).resolve().parents[2] / "bot" / "demo_flows"


def demo_files() -> dict[str, str]:
    return {f"demo_flows/{path.name}": path.read_text(encoding="utf-8") for path in sorted(DEMO_FLOWS.glob("*.yaml"))}


def test_every_demo_flow_is_valid_and_the_keys_are_the_file_names() -> None:
    flows = load_flows(demo_files())

    assert sorted(f"{flow.key}.yaml" for flow in flows) == sorted(path.name for path in DEMO_FLOWS.iterdir())


def test_the_demo_flows_cover_every_question_kind_and_event() -> None:
    flows = {flow.key: flow for flow in load_flows(demo_files())}

    assert {key: (flow.trigger.event, flow.question.kind, flow.channels) for key, flow in flows.items()} == {
        "post-delivery-nps": ("order.delivered", QuestionKind.NPS, ["sms", "email"]),
        "support-csat": ("ticket.solved", QuestionKind.CSAT, ["email", "sms", "slack", "web"]),
        "onboarding-ces": ("onboarding.completed", QuestionKind.CES, ["web", "email"]),
        "feature-thumbs": ("feature.used", QuestionKind.THUMBS, ["slack", "web"]),
    }
    assert flows["post-delivery-nps"].delay == "10s"
    assert flows["support-csat"].delay == "5s"


def test_the_demo_flows_round_trip_and_render_for_a_nameless_contact() -> None:
    for source, text in demo_files().items():
        flow = load_flow(text, source)
        assert load_flow(dump_flow(flow), source) == flow
        context = template_context({"external_id": "c1"}, {}, {"key": flow.key, "name": flow.name})
        assert "{{" not in flow.text_for("en", context)


def test_the_demo_reads_right_on_every_channel() -> None:
    """Text channels say how to reply; surfaces with a button per score do not (their ends are labelled)."""
    context = template_context({"external_id": "c1", "name": "Ada"}, {"ticket_id": "4711"}, {"key": "k"})
    for flow in load_flows(demo_files()):
        for channel in flow.channels:
            for locale in flow.question.texts_on(channel):
                text = flow.text_for(locale, context, channel)
                told = any(word in text for word in ("Reply", "Responde", "1 = "))
                assert told is (channel in ("sms", "whatsapp")), (flow.key, channel, locale, text)
