"""Jinja templates in flow texts: one sandboxed environment, checked when a flow is loaded.

Flow texts are written by admins but rendered with customer data, so they run in Jinja's immutable
sandbox: a template can read `contact`, `event` and `flow` but cannot reach Python internals or change
the data it is given.

Undefined values are lenient (`ChainableUndefined`): contact fields are optional, and a greeting such as
"Hi {{ contact.first_name }}!" must still go out, as "Hi !", when a contact has no name; authors who want
a fallback write `{{ contact.first_name or "there" }}`. `None` renders as an empty string for the same
reason. Autoescaping is off because most channels send plain text; a channel that builds HTML escapes
the rendered text itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NoReturn

from jinja2 import ChainableUndefined, Template, TemplateError, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

# What a template may ask of each context object. Contact fields come from the Contact record; a typo
# such as `contact.frist_name` would otherwise render as an empty string for every customer. The addresses
# that had fields of their own keep them; any channel's is in `contact.addresses` by its kind.
CONTACT_FIELDS = frozenset(
    {"external_id", "name", "first_name", "email", "phone", "slack_user_id", "locale", "timezone", "attributes",
     "addresses"}
)
FLOW_FIELDS = frozenset({"key", "name"})
CONTEXT_NAMES = frozenset({"contact", "event", "flow"})

# A realistic customer for the render check at load time. Event properties differ from event to event,
# so the sample has none: a template that needs one renders as if it were missing.
SAMPLE_CONTEXT: dict[str, Any] = {
    "contact": {
        "external_id": "sample-contact",
        "name": "Alex Morgan",
        "first_name": "Alex",
        "email": "alex@example.com",
        "phone": "+447700900123",
        "slack_user_id": "U0123456789",
        "addresses": {"email": "alex@example.com", "phone": "+447700900123", "slack_user_id": "U0123456789"},
        "locale": "en",
        "timezone": "Europe/London",
        "attributes": {"plan": "pro"},
    },
    "event": {},
    "flow": {"key": "sample-flow", "name": "Sample flow"},
}
# A saved reply (an agent's canned answer to a case) also sees the customer's answer.
REPLY_NAMES = ("contact", "score", "band", "comment", "event", "flow")
REPLY_SAMPLE: dict[str, Any] = {**SAMPLE_CONTEXT, "score": 3, "band": "detractor", "comment": "It came late."}
_KINDS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "flow": (("contact", "event", "flow"), SAMPLE_CONTEXT),
    "reply": (REPLY_NAMES, REPLY_SAMPLE),
}


class TemplateProblem(ValueError):
    """A flow text that cannot be compiled or rendered; the message says what to fix."""


class _FlowSandbox(ImmutableSandboxedEnvironment):
    """The sandbox, made loud: unsafe attribute access fails instead of rendering as an empty string."""

    def unsafe_undefined(self, obj: Any, attribute: str) -> NoReturn:
        # The stock sandbox returns an Undefined here, which a lenient Undefined would render silently;
        # an author probing for internals should learn at load time that it is refused.
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")


def _blank_none(value: Any) -> Any:
    return "" if value is None else value


_ENV = _FlowSandbox(autoescape=False, undefined=ChainableUndefined, finalize=_blank_none)


def render_template(source: str, context: Mapping[str, Any]) -> str:
    """Render a flow text for one customer; TemplateProblem when the template fails on this data."""
    template = _compiled(source)
    try:
        return template.render(dict(context))
    except TemplateError as error:
        raise _problem(error, source) from None
    except (ArithmeticError, LookupError, TypeError, ValueError) as error:
        raise TemplateProblem(f"template error: {error}") from None


def check_template(source: str) -> None:
    """Raise TemplateProblem if `source` would fail for customers; cached, since flows are re-validated often."""
    message = _check(source, "flow")
    if message is not None:
        raise TemplateProblem(message)


def check_reply_template(source: str) -> None:
    """The same check for a saved reply, whose template also reads the answer: `score`, `band`, `comment`."""
    message = _check(source, "reply")
    if message is not None:
        raise TemplateProblem(message)


def reply_context(
    contact: Mapping[str, Any], event_properties: Mapping[str, Any], flow: Mapping[str, Any],
    score: int | None, band: str | None, comment: str | None,
) -> dict[str, Any]:
    """What a saved reply sees for one case: the flow's context and the customer's answer."""
    return {**template_context(contact, event_properties, flow), "score": score, "band": band, "comment": comment}


def template_context(
    contact: Mapping[str, Any], event_properties: Mapping[str, Any], flow: Mapping[str, Any]
) -> dict[str, Any]:
    """The variables a flow text sees: `contact` (with `first_name`), `event` properties and `flow`."""
    person = {name: value for name, value in contact.items() if value is not None}
    if "first_name" not in person and person.get("name"):
        first = str(person["name"]).split()
        if first:
            person["first_name"] = first[0]
    return {
        "contact": person,
        "event": dict(event_properties),
        "flow": {name: flow[name] for name in FLOW_FIELDS if flow.get(name) is not None},
    }


@lru_cache(maxsize=1024)
def _check(source: str, kind: str) -> str | None:
    names, sample = _KINDS[kind]
    try:
        template = _compiled(source)
        _check_names(source, names)
        template.render(sample)
    except TemplateProblem as problem:
        return str(problem)
    except UndefinedError:
        # A value the sample lacks (an event property used in arithmetic, say); real events may have it.
        return None
    except TemplateError as error:
        return str(_problem(error, source))
    except (ArithmeticError, LookupError, TypeError, ValueError) as error:
        return f"template error: {error}"
    return None


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Template:
    try:
        return _ENV.from_string(source)
    except TemplateError as error:
        raise _problem(error, source) from None


def _check_names(source: str, known: tuple[str, ...]) -> None:
    """Reject names a template cannot mean: they would render empty for every customer, silently."""
    tree = _ENV.parse(source)
    unknown = meta.find_undeclared_variables(tree) - set(known) - set(_ENV.globals)
    if unknown:
        names = ", ".join(sorted(unknown))
        usable = f"{', '.join(known[:-1])} and {known[-1]}"
        raise TemplateProblem(f"template error: unknown variable {names}; templates can use {usable}")
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name):
            _check_field(node.node.name, node.attr)


def _check_field(variable: str, field: str) -> None:
    known = {"contact": CONTACT_FIELDS, "flow": FLOW_FIELDS}.get(variable)
    if known is not None and field not in known:
        choices = ", ".join(sorted(known))
        raise TemplateProblem(f"template error: {variable} has no field {field!r}; it has {choices}")


def _problem(error: TemplateError, source: str) -> TemplateProblem:
    text = (error.message or type(error).__name__).rstrip(".")
    text = text[:1].lower() + text[1:]
    where = ""
    if isinstance(error, TemplateSyntaxError) and error.lineno and "\n" in source.strip():
        where = f" (template line {error.lineno})"
    return TemplateProblem(f"template error: {text}{where}")
