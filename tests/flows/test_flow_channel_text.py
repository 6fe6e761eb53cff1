"""The question's wording per channel and the scale's end labels, as a flow file gives them."""

from __future__ import annotations

import pytest

from flows.loader import FlowError, dump_flow, load_flow
from flows.questions import EndLabels

FLOW = """\
key: support-csat
name: CSAT after a ticket
trigger: {event: ticket.solved}
channels: [sms, email, web]
question:
  kind: csat
  text:
    en: "How did we do? Reply 1 (very unsatisfied) to 5 (very satisfied)."
    es: "¿Qué tal lo hicimos? Responde del 1 al 5."
  channel_text:
    email:
      en: "Hi {{ contact.first_name }}, how did we do?"
    web: {en: "How did we do?", es: "¿Qué tal lo hicimos?"}
  labels:
    en: {low: "Not happy", high: "Delighted"}
"""


def problem_of(text: str) -> tuple[str, int | None, str]:
    with pytest.raises(FlowError) as caught:
        load_flow(text, "flows/csat.yaml")
    [problem] = caught.value.problems
    return problem.path, problem.line, problem.message


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_each_channel_reads_its_own_wording_and_the_others_the_common_text() -> None:
    flow = load_flow(FLOW)
    context = {"contact": {"first_name": "Ada"}, "event": {}, "flow": {}}

    assert flow.text_for("en", context, "email") == "Hi Ada, how did we do?"
    assert flow.text_for("en", None, "web") == "How did we do?"
    assert flow.text_for("es", None, "web") == "¿Qué tal lo hicimos?"
    assert flow.text_for("en", None, "sms").endswith("Reply 1 (very unsatisfied) to 5 (very satisfied).")
    # The email text has no Spanish: a Spanish contact gets the email wording's fallback, not the SMS one.
    assert flow.text_for("es", None, "email") == "Hi {{ contact.first_name }}, how did we do?"
    assert flow.text_for("en") == flow.text_for("en", None, "sms")


def test_end_labels_are_the_flows_own_else_built_in_in_the_questions_language() -> None:
    flow = load_flow(FLOW)

    assert flow.end_labels("en", "web") == EndLabels("Not happy", "Delighted")
    assert flow.end_labels("es", "web") == EndLabels("Muy insatisfecho", "Muy satisfecho")
    # The email's question is English only, so its labels are too, whatever the contact's locale.
    assert flow.end_labels("es", "email") == EndLabels("Not happy", "Delighted")
    plain = load_flow(FLOW.split("  labels:")[0])
    assert plain.end_labels("de-AT", "web") == EndLabels("Very unsatisfied", "Very satisfied")
    assert plain.end_labels("es", "sms") == EndLabels("Muy insatisfecho", "Muy satisfecho")
    thumbs = load_flow(FLOW.split("  channel_text:")[0].replace("kind: csat", "kind: thumbs"))
    assert thumbs.end_labels("en", "web") is None


def test_the_options_round_trip_and_a_flow_without_them_keeps_its_stored_form() -> None:
    flow = load_flow(FLOW)
    assert load_flow(dump_flow(flow)) == flow
    plain = load_flow(FLOW.split("  channel_text:")[0])
    assert set(plain.model_dump(mode="json")["question"]) == {"kind", "text"}
    assert "channel_text" not in dump_flow(plain) and "labels" not in dump_flow(plain)


@pytest.mark.parametrize(
    ("old", "new", "path", "fragment", "at"),
    [
        ("    email:\n", "    emial:\n", "question.channel_text.emial",
         "emial is not among this flow's channels", "emial:"),
        ("    web: {en:", "    slack: {en:", "question.channel_text.slack", "slack is not among this flow's channels",
         "slack: {en:"),
        ("Hi {{ contact.first_name }}", "Hi {{ contact.frist_name }}", "question.channel_text.email.en",
         "contact has no field 'frist_name'", "frist_name"),
        ("    web: {en:", "    web: {}\n    sms: {en:", "question.channel_text.web", "at least one locale",
         "web: {}"),
        (', high: "Delighted"}', "}", "question.labels.en.high", "is required", "low:"),
        ('"Not happy"', '"{{ contact.name }}"', "question.labels.en.low", "plain text", "low:"),
        ('"Not happy"', '"' + "x" * 61 + '"', "question.labels.en.low", "at most 60 characters", "low:"),
        ("  labels:\n", "  label:\n", "question.label", "did you mean labels?", "label:"),
        ("kind: csat", "kind: thumbs", "question.labels", "their buttons already say Yes and No", "labels:"),
    ],
)
def test_a_bad_channel_text_or_label_names_its_field_and_line(
    old: str, new: str, path: str, fragment: str, at: str
) -> None:
    assert old in FLOW
    text = FLOW.replace(old, new, 1)

    found_path, line, message = problem_of(text)

    assert found_path == path
    assert fragment in message
    assert line == line_of(text, at)
