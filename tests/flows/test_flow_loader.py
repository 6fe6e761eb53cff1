from __future__ import annotations

from pathlib import Path

import pytest

from flows.loader import FlowError, Problem, dump_flow, load_flow, load_flows
from flows.questions import Band, QuestionKind

# The example of the design brief, as an admin would write it.
EXAMPLE = """\
key: post-delivery-nps            # unique slug
name: NPS after delivery
enabled: true
trigger:
  event: order.delivered          # event type
  where:                          # optional; all must hold against event properties
    country: [GB, IE]             # a list means any of
delay: 2h                         # Ns, Nm, Nh, Nd
channels: [sms, email]
question:
  kind: nps                       # nps 0-10 | csat 1-5 | ces 1-7 | thumbs
  text:
    en: "Hi {{ contact.first_name }}! How likely are you to recommend us to a friend? Reply 0-10."
comment:
  ask: always                     # always | detractors | never
  prompt:
    en: {detractor: "Sorry about that. What went wrong?", passive: "What would make it a 10?", promoter: "Great! What did you like most?"}
  window: 1d
thanks: {en: "Thank you!"}
expire_after: 3d
reminder: 1d                      # one reminder if unanswered; omit for none
quiet_hours: "21:00-08:00"        # contact's timezone; a send due inside waits for the end
throttle: 30d                     # no new survey to the same contact within this window, across flows
sample: 1.0                       # share of matching events that get a survey
routing:                          # first matching rule wins; none -> no follow-up
  - when: {band: detractor}
    queue: recovery
    priority: high
    sla: 4h
  - when: {sentiment: negative}
    queue: recovery
"""  # noqa: E501 (verbatim from the design brief)

MINIMAL = """\
key: minimal
name: Minimal
trigger: {event: order.delivered}
channels: [email]
question: {kind: csat, text: {en: "How did we do? 1-5"}}
"""


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


# The channels a caller (the bot, from its channel registry) lets flows use.
CHANNELS = ("sms", "email", "web")


def problems_of(text: str, source: str = "flows/nps.yaml") -> list[Problem]:
    with pytest.raises(FlowError) as caught:
        load_flow(text, source, CHANNELS)
    return caught.value.problems


def only_problem(text: str, source: str = "flows/nps.yaml") -> Problem:
    problems = problems_of(text, source)
    assert len(problems) == 1, problems
    return problems[0]


def test_the_documented_example_loads() -> None:
    flow = load_flow(EXAMPLE, "flows/nps.yaml")

    assert flow.key == "post-delivery-nps"
    assert flow.trigger.where == {"country": ["GB", "IE"]}
    assert flow.channels == ["sms", "email"]
    assert flow.question.kind is QuestionKind.NPS
    assert flow.delay_td.total_seconds() == 2 * 3600
    assert flow.reminder_td is not None and flow.reminder_td.days == 1
    assert flow.throttle_td is not None and flow.throttle_td.days == 30
    assert flow.expire_td.days == 3
    assert flow.comment_window_td.days == 1
    assert flow.quiet_hours == "21:00-08:00"
    assert [(rule.queue, rule.priority, rule.sla) for rule in flow.routing] == [
        ("recovery", "high", "4h"),
        ("recovery", "normal", None),
    ]
    assert flow.routing[0].when.band is Band.DETRACTOR
    assert flow.routing[1].when.sentiment == "negative"


def test_the_example_round_trips_through_dump() -> None:
    flow = load_flow(EXAMPLE)
    dumped = dump_flow(flow)

    assert load_flow(dumped) == flow
    assert dump_flow(load_flow(dumped)) == dumped


def test_dump_keeps_the_documented_field_order() -> None:
    dumped = dump_flow(load_flow(EXAMPLE))
    top_level = [line.split(":")[0] for line in dumped.splitlines() if line and not line.startswith((" ", "-"))]

    assert top_level == [
        "key", "name", "enabled", "trigger", "delay", "channels", "question", "comment", "thanks",
        "expire_after", "reminder", "quiet_hours", "throttle", "sample", "routing",
    ]  # fmt: skip


def test_a_minimal_flow_gets_the_documented_defaults_and_round_trips() -> None:
    flow = load_flow(MINIMAL)

    assert flow.enabled is True
    assert (flow.delay, flow.expire_after, flow.comment.ask, flow.comment.window) == ("0s", "3d", "always", "1d")
    assert (flow.reminder, flow.quiet_hours, flow.throttle, flow.trigger.where) == (None, None, None, None)
    assert flow.sample == 1.0
    assert flow.routing == []
    assert load_flow(dump_flow(flow)) == flow
    assert "reminder" not in dump_flow(flow)


def test_durations_are_stored_in_their_shortest_form() -> None:
    flow = load_flow(MINIMAL + "delay: 120m\nexpire_after: 72h\n")

    assert (flow.delay, flow.expire_after) == ("2h", "3d")


def test_country_codes_that_yaml_1_1_would_turn_into_booleans_stay_text() -> None:
    text = EXAMPLE.replace("country: [GB, IE]", "country: [GB, NO, 'on']\n    postcode: 01234\n    tier: 2")
    flow = load_flow(text)

    assert flow.trigger.where == {"country": ["GB", "NO", "on"], "postcode": "01234", "tier": 2}


def test_a_yaml_syntax_error_names_file_and_line() -> None:
    text = EXAMPLE.replace("  kind: nps", "  kind: nps: csat")
    problem = only_problem(text)

    assert problem.source == "flows/nps.yaml"
    assert problem.line == line_of(text, "kind: nps: csat")
    assert str(problem).startswith(f"flows/nps.yaml:{problem.line}: YAML syntax error")


def test_an_unclosed_quote_says_where_it_began() -> None:
    text = EXAMPLE.replace('thanks: {en: "Thank you!"}', 'thanks: {en: "Thank you!}')
    problem = only_problem(text)

    assert f"started on line {line_of(text, 'thanks:')}" in problem.message


def test_a_bad_question_kind_names_file_path_line_and_choices() -> None:
    text = EXAMPLE.replace("  kind: nps ", "  kind: nsp ")
    problem = only_problem(text)

    assert str(problem) == (
        f"flows/nps.yaml:{line_of(text, 'kind: nsp')}: question.kind: must be one of nps, csat, ces, thumbs"
    )


def test_an_unknown_field_is_an_error_with_a_suggestion() -> None:
    text = EXAMPLE.replace('quiet_hours: "21:00-08:00"', 'quiet_hour: "21:00-08:00"')
    problem = only_problem(text)

    assert (problem.path, problem.line) == ("quiet_hour", line_of(text, "quiet_hour:"))
    assert problem.message == "unknown field; did you mean quiet_hours?"


def test_an_unknown_nested_field_is_found_too() -> None:
    text = EXAMPLE.replace("    queue: recovery\n    priority: high", "    queue: recovery\n    prio: high")
    problem = only_problem(text)

    assert (problem.path, problem.line) == ("routing.0.prio", line_of(text, "prio: high"))
    assert "did you mean priority?" in problem.message


def test_a_bad_duration_names_its_line_and_the_accepted_form() -> None:
    text = EXAMPLE.replace("delay: 2h ", "delay: 2 hours ")
    problem = only_problem(text)

    assert (problem.path, problem.line) == ("delay", line_of(text, "delay:"))
    assert "'2 hours' is not a duration" in problem.message
    assert "30m, 2h or 3d" in problem.message


def test_a_bare_number_is_not_a_duration() -> None:
    problem = only_problem(MINIMAL + "delay: 10\n")

    assert problem.path == "delay"
    assert "10 is not a duration" in problem.message


def test_a_template_with_an_unknown_filter_is_a_validation_error() -> None:
    text = EXAMPLE.replace("Hi {{ contact.first_name }}!", "Hi {{ contact.name | nosuchfilter }}!")
    problem = only_problem(text)

    assert (problem.path, problem.line) == ("question.text.en", line_of(text, "nosuchfilter"))
    assert "no filter named 'nosuchfilter'" in problem.message


def test_a_template_syntax_error_in_a_band_prompt_points_at_that_band() -> None:
    text = EXAMPLE.replace('detractor: "Sorry about that.', 'detractor: "{% if %}Sorry about that.')
    problem = only_problem(text)

    assert (problem.path, problem.line) == ("comment.prompt.en.detractor", line_of(text, "{% if %}"))
    assert problem.message.startswith("template error")


def test_a_template_reaching_for_python_internals_is_rejected() -> None:
    text = EXAMPLE.replace('thanks: {en: "Thank you!"}', "thanks: {en: \"{{ ''.__class__.__mro__ }}\"}")
    problem = only_problem(text)

    assert (problem.path, problem.line) == ("thanks.en", line_of(text, "thanks:"))
    assert "unsafe" in problem.message


def test_a_missing_field_points_at_its_parent() -> None:
    text = EXAMPLE.replace("  event: order.delivered          # event type\n", "")
    problem = only_problem(text)

    assert str(problem) == f"flows/nps.yaml:{line_of(text, 'trigger:')}: trigger.event: is required"


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    text = EXAMPLE.replace("  kind: nps ", "  kind: nsp ").replace("delay: 2h ", "delay: soon ")
    text = text.replace("channels: [sms, email]", "channels: [sms, pigeon]")
    problems = problems_of(text)

    assert {(p.path, p.line) for p in problems} == {
        ("delay", line_of(text, "delay:")),
        ("channels.1", line_of(text, "channels:")),
        ("question.kind", line_of(text, "kind: nsp")),
    }
    assert "must be one of sms, email, web" in str(FlowError(problems))


def test_the_channel_names_are_the_callers_and_without_them_any_well_formed_name_passes() -> None:
    text = EXAMPLE.replace("channels: [sms, email]", "channels: [sms, fax_line]")
    assert load_flow(text).channels == ["sms", "fax_line"]
    [problem] = problems_of(text)
    assert (problem.path, problem.message) == ("channels.1", "must be one of sms, email, web")

    malformed = only_problem_without_names(EXAMPLE.replace("channels: [sms, email]", "channels: [sms, Fax-Line]"))
    assert malformed.path == "channels.1"
    assert malformed.message == "must be a channel name (lower-case letters, digits, _)"


def only_problem_without_names(text: str) -> Problem:
    with pytest.raises(FlowError) as caught:
        load_flow(text, "flows/nps.yaml")
    [problem] = caught.value.problems
    return problem


@pytest.mark.parametrize(
    ("change", "path", "fragment"),
    [
        (("key: post-delivery-nps", "key: Post Delivery"), "key", "not a slug"),
        (("channels: [sms, email]", "channels: [sms, email, sms]"), "channels.2", "listed twice"),
        (("channels: [sms, email]", "channels: []"), "channels", "must not be empty"),
        (("sample: 1.0", "sample: 1.5"), "sample", "at most 1"),
        (('quiet_hours: "21:00-08:00"', 'quiet_hours: "9pm-8am"'), "quiet_hours", "HH:MM-HH:MM"),
        (('quiet_hours: "21:00-08:00"', 'quiet_hours: "25:00-08:00"'), "quiet_hours", "not a time of day"),
        (("reminder: 1d", "reminder: 3d"), "reminder", "shorter than expire_after"),
        (("  ask: always", "  ask: sometimes"), "comment.ask", "always, detractors, never"),
        (("    country: [GB, IE]", "    country: {a: 1}"), "trigger.where.country", "cannot be compared"),
        (("    country: [GB, IE]", "    country: []"), "trigger.where.country", "matches no event"),
        (("  - when: {band: detractor}", "  - when: {band: detractors}"), "routing.0.when.band", "detractor"),
        (("  - when: {band: detractor}", "  - when: {score_at_most: 11}"), "routing.0.when.score_at_most", "0-10"),
        (("  - when: {band: detractor}", "  - when: {}"), "routing.0.when", "move it last"),
        (("    queue: recovery\n    priority", "    queue: Recovery Team\n    priority"), "routing.0.queue", "slug"),
        (("    priority: high", "    priority: asap"), "routing.0.priority", "low, normal, high, urgent"),
        (("    en: {detractor:", "    english: {detractor:"), "comment.prompt.english", "not a locale"),
        ((' passive: "What would make it a 10?",', ""), "comment.prompt.en.passive", "needs a prompt for passive"),
    ],
)
def test_each_rule_of_the_file_is_enforced_with_a_clear_message(
    change: tuple[str, str], path: str, fragment: str
) -> None:
    old, new = change
    assert old in EXAMPLE
    problem = only_problem(EXAMPLE.replace(old, new, 1))

    assert problem.path == path
    assert fragment in problem.message
    assert problem.line is not None


def test_thumbs_questions_have_no_passive_band_to_route_or_prompt() -> None:
    text = EXAMPLE.replace("kind: nps ", "kind: thumbs").replace("{band: detractor}", "{band: passive}")
    problems = problems_of(text)

    assert [(p.path, p.message) for p in problems] == [
        ("comment.prompt.en.passive", "thumbs questions have no passive band"),
        ("routing.0.when.band", "thumbs questions have no passive band"),
    ]


def test_a_key_written_twice_in_one_file_is_an_error() -> None:
    text = EXAMPLE.replace("delay: 2h ", "delay: 2h\ndelay: 3h ")
    problem = only_problem(text)

    assert (problem.path, problem.line) == ("delay", line_of(text, "delay: 3h"))
    assert "twice" in problem.message


@pytest.mark.parametrize("text", ["", "- key: a\n", "just words\n"])
def test_a_file_that_is_not_a_mapping_is_rejected(text: str) -> None:
    problem = only_problem(text)

    assert (problem.line, problem.path) == (1, "")
    assert "mapping of fields" in problem.message


def test_a_file_with_two_flows_is_rejected() -> None:
    problem = only_problem(MINIMAL + "---\n" + MINIMAL)

    assert "one flow" in problem.message


def test_load_flows_with_one_bad_file_rejects_all_and_reports_every_problem() -> None:
    files = {
        "flows/good.yaml": MINIMAL,
        "flows/nps.yaml": EXAMPLE.replace("  kind: nps ", "  kind: nsp "),
        "flows/broken.yaml": "key: [unclosed\n",
        "flows/typo.yaml": MINIMAL.replace("key: minimal", "key: other") + "sampel: 0.5\n",
    }

    with pytest.raises(FlowError) as caught:
        load_flows(files)

    assert [p.source for p in caught.value.problems] == ["flows/nps.yaml", "flows/broken.yaml", "flows/typo.yaml"]
    report = str(caught.value).splitlines()
    assert report[0].startswith("flows/nps.yaml:11: question.kind:")
    assert report[2] == "flows/typo.yaml:6: sampel: unknown field; did you mean sample?"


def test_load_flows_rejects_a_key_used_by_two_files() -> None:
    files = {"flows/a.yaml": MINIMAL, "flows/b.yaml": "# copy\n" + MINIMAL}

    with pytest.raises(FlowError) as caught:
        load_flows(files)

    assert str(caught.value) == (
        "flows/b.yaml:2: key: 'minimal' is also the key of flows/a.yaml; each flow needs its own key"
    )


def test_load_flows_returns_every_flow_when_all_are_valid() -> None:
    flows = load_flows({"flows/a.yaml": MINIMAL, "flows/nps.yaml": EXAMPLE})

    assert [flow.key for flow in flows] == ["minimal", "post-delivery-nps"]


def test_a_stored_definition_validates_again_unchanged() -> None:
    flow = load_flow(EXAMPLE)

    assert type(flow).model_validate(flow.model_dump(mode="json")) == flow


def test_the_readme_flow_example_is_a_valid_flow() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.split("## Flows", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    flow = load_flow(example, "README.md")
    assert flow.key == "post-delivery-nps" and flow.channels == ["sms", "email", "web"]
