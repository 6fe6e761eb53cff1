from __future__ import annotations

import pytest

from flows.templates import TemplateProblem, check_template, render_template, template_context


def test_a_missing_first_name_renders_empty() -> None:
    context = template_context({"external_id": "c1", "name": None}, {}, {"key": "k", "name": "K"})

    assert render_template("Hi {{ contact.first_name }}!", context) == "Hi !"


def test_an_author_can_give_a_fallback_for_a_missing_name() -> None:
    context = template_context({"external_id": "c1"}, {}, {"key": "k", "name": "K"})

    assert render_template("Hi {{ contact.first_name or 'there' }}!", context) == "Hi there!"
    assert render_template("Hi {{ contact.first_name | default('there') }}!", context) == "Hi there!"


def test_the_first_name_comes_from_the_full_name() -> None:
    context = template_context({"name": "Ada  Lovelace"}, {}, {"key": "k", "name": "K"})

    assert render_template("Hi {{ contact.first_name }}, {{ contact.name }}", context) == "Hi Ada, Ada  Lovelace"


def test_an_explicit_first_name_wins() -> None:
    context = template_context({"name": "Dr Ada Lovelace", "first_name": "Ada"}, {}, {"key": "k", "name": "K"})

    assert render_template("{{ contact.first_name }}", context) == "Ada"


def test_event_properties_attributes_and_flow_are_available() -> None:
    context = template_context(
        {"name": "Ada", "attributes": {"plan": "pro"}},
        {"order_id": "A-1", "missing": None},
        {"key": "nps", "name": "NPS", "other": "ignored"},
    )
    source = (
        "{{ event.order_id }}/{{ event.missing }}/{{ event.absent.deeper }}"
        "/{{ contact.attributes.plan }}/{{ flow.name }}"
    )

    assert render_template(source, context) == "A-1///pro/NPS"


def test_text_is_not_html_escaped() -> None:
    context = template_context({"name": "Tom & Jerry <tj>"}, {}, {"key": "k", "name": "K"})

    assert render_template("{{ contact.name }}", context) == "Tom & Jerry <tj>"


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("{{ contact.name | nosuchfilter }}", "no filter named 'nosuchfilter'"),
        ("{% if %}", "template error"),
        ("{{ contact.name ", "template error"),
        ("{{ ''.__class__.__mro__ }}", "unsafe"),
        ("{{ contact.attributes.update({'plan': 'free'}) }}", "unsafe"),
        ("{{ 1 / 0 }}", "division by zero"),
        ("{{ customer.name }}", "unknown variable customer"),
        ("{{ contact.frist_name }}", "contact has no field 'frist_name'"),
    ],
)
def test_check_rejects_templates_that_would_fail_customers(source: str, fragment: str) -> None:
    with pytest.raises(TemplateProblem, match="template error") as caught:
        check_template(source)

    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    "source",
    [
        "Plain text, no template.",
        "Hi {{ contact.first_name }}!",
        "{% if event.ticket_id %}Ticket {{ event.ticket_id }}{% endif %}",
        "{{ event.total * 2 }}",
        "{% for tag in event.tags %}{{ loop.index }}{{ tag }}{% endfor %}",
        "{% set who = contact.first_name or 'there' %}Hi {{ who }}",
    ],
)
def test_check_accepts_templates_that_depend_on_event_properties(source: str) -> None:
    check_template(source)


def test_rendering_the_sandbox_escape_fails_loudly() -> None:
    with pytest.raises(TemplateProblem, match="unsafe"):
        render_template("{{ ''.__class__.__mro__ }}", {})


def test_rendering_reports_a_failure_on_this_customers_data() -> None:
    with pytest.raises(TemplateProblem, match="template error"):
        render_template("{{ event.total * 2 }}", template_context({}, {}, {"key": "k", "name": "K"}))
