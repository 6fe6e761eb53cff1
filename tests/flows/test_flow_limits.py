"""Flow files that would overflow or exhaust memory later are refused when they are loaded, with the file, line,
field and reason: durations past a year, YAML aliases (the "billion laughs") and deep nesting."""

from __future__ import annotations

import pytest

from flows.durations import parse_duration
from flows.loader import FlowError, Problem, load_flow

FLOW = """\
key: nps
name: NPS
trigger: {event: order.delivered}
delay: 2h
channels: [sms]
question: {kind: nps, text: {en: "How likely? 0-10"}}
comment:
  ask: always
  prompt: {en: "Why?"}
  window: 1d
expire_after: 3d
reminder: 1d
throttle: 30d
routing:
  - when: {band: detractor}
    queue: recovery
    sla: 4h
"""
BOMB = "key: nps\nname: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"x{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]\n" for n in range(1, 10))


def only_problem(text: str) -> Problem:
    with pytest.raises(FlowError) as caught:
        load_flow(text, "flows/nps.yaml")
    [problem] = caught.value.problems
    return problem


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


@pytest.mark.parametrize(
    ("fragment", "absurd", "path"),
    [
        ("delay: 2h", "delay: 99999999999d", "delay"),
        ("expire_after: 3d", "expire_after: 366d", "expire_after"),
        ("reminder: 1d", "reminder: 9000h", "reminder"),
        ("throttle: 30d", "throttle: 31536001s", "throttle"),
        ("window: 1d", "window: 1000000000000000000000d", "comment.window"),
        ("sla: 4h", "sla: 527041m", "routing.0.sla"),
    ],
)
def test_a_duration_past_a_year_names_file_line_and_field(fragment: str, absurd: str, path: str) -> None:
    text = FLOW.replace(fragment, absurd)
    problem = only_problem(text)
    assert (problem.source, problem.path, problem.line) == ("flows/nps.yaml", path, line_of(text, absurd))
    assert problem.message == "at most 365d"


def test_a_year_is_the_longest_duration() -> None:
    assert parse_duration("365d") == parse_duration("8760h") == parse_duration("31536000s")
    load_flow(FLOW.replace("throttle: 30d", "throttle: 365d").replace("expire_after: 3d", "expire_after: 365d"))
    with pytest.raises(ValueError, match="at most 365d"):
        parse_duration("9" * 5000 + "d")


def test_an_alias_bomb_is_refused_at_its_first_alias() -> None:
    problem = only_problem(BOMB)
    assert problem.line == 3
    assert "aliases (*name) are not allowed" in problem.message


def test_any_alias_is_refused_and_an_anchor_alone_is_harmless() -> None:
    text = FLOW.replace("question: {kind: nps, text: {en: \"How likely? 0-10\"}}",
                        "question: {kind: nps, text: {en: &q \"How likely? 0-10\", es: *q}}")
    assert "aliases" in only_problem(text).message
    assert load_flow(FLOW.replace("delay: 2h", "delay: &d 2h")).delay == "2h"


@pytest.mark.parametrize("depth", [40, 5000])
def test_deep_nesting_is_refused_with_its_line(depth: int) -> None:
    problem = only_problem(FLOW + "extra: " + "[" * depth + "]" * depth + "\n")
    assert problem.line == line_of(FLOW, "sla") + 1
    assert "nested more than 32 levels deep" in problem.message
