from __future__ import annotations

from flows.loader import load_flow
from flows.questions import Band
from flows.schema import FlowDefinition, pick_locale
from flows.templates import template_context

FLOW = """\
key: multilingual
name: Multilingual CSAT
trigger: {event: ticket.solved}
channels: [email]
question:
  kind: csat
  text:
    es: "Hola {{ contact.first_name }}, ¿qué tal te atendimos?"
    en: "Hi {{ contact.first_name }}, how did we do?"
    pt-BR: "Olá {{ contact.first_name }}, como foi o atendimento?"
comment:
  ask: detractors
  prompt:
    en: {detractor: "Sorry, {{ contact.first_name or 'friend' }}. What went wrong?"}
thanks: {es: "¡Gracias!"}
"""


def flow() -> FlowDefinition:
    return load_flow(FLOW)


def test_the_question_is_chosen_by_locale_then_language_then_english() -> None:
    definition = flow()

    assert definition.text_for("es").startswith("Hola")
    assert definition.text_for("es-MX").startswith("Hola")
    assert definition.text_for("pt_br").startswith("Olá")
    assert definition.text_for("pt").startswith("Olá")
    assert definition.text_for("de").startswith("Hi")
    assert definition.text_for(None).startswith("Hi")


def test_without_english_the_first_text_is_used() -> None:
    assert pick_locale({"fr": "Bonjour", "de": "Hallo"}, "ja") == "Bonjour"
    assert pick_locale({}, "en") is None


def test_texts_render_when_given_a_context() -> None:
    context = template_context({"name": "Ana García"}, {}, {"key": "multilingual", "name": "Multilingual CSAT"})

    assert flow().text_for("es-ES", context) == "Hola Ana, ¿qué tal te atendimos?"


def test_only_detractors_are_asked_for_a_comment_when_the_flow_says_so() -> None:
    definition = flow()

    assert definition.wants_comment(Band.DETRACTOR)
    assert not definition.wants_comment(Band.PASSIVE)
    assert not definition.wants_comment(Band.PROMOTER)


def test_the_comment_prompt_follows_the_band() -> None:
    context = template_context({}, {}, {"key": "multilingual", "name": "Multilingual CSAT"})

    assert flow().comment_prompt("en", Band.DETRACTOR, context) == "Sorry, friend. What went wrong?"


def test_a_flow_without_prompts_uses_a_built_in_one_in_the_customers_language() -> None:
    definition = load_flow(
        FLOW.replace("  ask: detractors\n  prompt:\n", "  ask: always\n  prompt: {}\n").replace(
            "    en: {detractor: \"Sorry, {{ contact.first_name or 'friend' }}. What went wrong?\"}\n", ""
        )
    )

    assert definition.comment_prompt("en", Band.PROMOTER) == "Thanks! What's the main reason for your score?"
    assert definition.comment_prompt("es-MX", Band.PASSIVE).startswith("¡Gracias!")
    assert definition.comment_prompt("ja", Band.PASSIVE).startswith("Thanks!")


def test_thanks_falls_back_across_locales_and_is_none_when_the_flow_has_none() -> None:
    definition = flow()

    assert definition.thanks_text("en") == "¡Gracias!"
    without = load_flow(FLOW.replace('thanks: {es: "¡Gracias!"}\n', ""))
    assert without.thanks_text("en") is None


def test_a_comment_is_never_asked_when_the_flow_says_never() -> None:
    definition = load_flow(FLOW.replace("ask: detractors", "ask: never"))

    assert not any(definition.wants_comment(band) for band in Band)
