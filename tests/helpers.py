"""Small helpers shared by the tests: flows as YAML text, and driving the worker."""

from __future__ import annotations

import textwrap
from typing import Any

from bot.dispatch import TickReport, run_tick
from bot.flow_admin import store_definitions
from bot.runtime import Runtime
from flows.loader import load_flow
from tests.fakes.twilio_api import FakeTwilio

# A flow's `extra`: detractors open a high-priority case in the `recovery` queue.
DETRACTORS_TO_RECOVERY = """\
routing:
  - when: {band: detractor}
    queue: recovery
    priority: high
"""


def flow_yaml(key: str = "nps-test", **overrides: Any) -> str:
    values: dict[str, Any] = {
        "event": "order.delivered",
        "kind": "nps",
        "channels": "[sms, email]",
        "delay": "0s",
        "ask": "always",
        "extra": "",
        "where": "",
    }
    values.update(overrides)
    return textwrap.dedent(
        """\
        key: {key}
        name: Test flow {key}
        trigger:
          event: {event}
        {where}delay: {delay}
        channels: {channels}
        question:
          kind: {kind}
          text:
            en: "Hi {{{{ contact.first_name }}}}! How likely are you to recommend us? Reply 0-10."
        comment:
          ask: {ask}
          prompt:
            en:
              detractor: "Sorry about that. What went wrong?"
              passive: "What would make it a 10?"
              promoter: "Great! What did you like most?"
          window: 1d
        thanks: {{en: "Thank you!"}}
        expire_after: 3d
        """
    ).format(key=key, **{**values, "where": _where(values["where"])}) + textwrap.dedent(values["extra"])


def install_flow(rt: Runtime, text: str) -> None:
    with rt.session() as session:
        store_definitions(session, [load_flow(text, "test.yaml")])


def event(
    key: str = "evt-1", type_: str = "order.delivered", contact: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": type_,
        "idempotency_key": key,
        "contact": contact
        or {
            "external_id": "cust-1",
            "name": "Ada Lovelace",
            "phone": "+447911123456",
            "email": "ada@example.com",
        },
    }
    body.update(extra)
    return body


def tick(rt: Runtime) -> TickReport:
    return run_tick(rt)


def _where(where: str) -> str:
    """`where="country: [GB, IE]"` becomes the trigger's where block (indented to fit the template)."""
    return f"  where:\n    {where}\n" if where else ""


def twilio_env(twilio: FakeTwilio) -> dict[str, str]:
    """The environment that points the SMS channel at a Twilio double (fast enough to pace nothing)."""
    return {"TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
            "TWILIO_FROM": "+15017250604", "TWILIO_API_BASE_URL": twilio.base_url, "TWILIO_MPS": "50"}
