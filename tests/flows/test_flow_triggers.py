from __future__ import annotations

from typing import Any

import pytest

from flows.loader import load_flow
from flows.schema import FlowDefinition
from flows.triggers import example_properties, in_sample, matches, mismatch


def flow(where: str = "", sample: float = 1.0, key: str = "delivered") -> FlowDefinition:
    return load_flow(
        f"key: {key}\nname: Delivered\ntrigger:\n  event: order.delivered\n{where}"
        f"channels: [sms]\nquestion: {{kind: nps, text: {{en: 'Score?'}}}}\nsample: {sample}\n"
    )


def test_the_event_type_must_be_the_trigger() -> None:
    assert matches(flow(), "order.delivered", {})
    assert not matches(flow(), "order.shipped", {})
    assert not matches(flow(), "Order.Delivered", {})


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"country": "GB"}, True),
        ({"country": "IE"}, True),
        ({"country": "gb"}, True),
        ({"country": "FR"}, False),
        ({}, False),
        ({"country": None}, False),
        ({"country": ["FR", "IE"]}, True),
    ],
)
def test_a_list_means_any_of(properties: dict[str, Any], expected: bool) -> None:
    assert matches(flow("  where:\n    country: [GB, IE]\n"), "order.delivered", properties) is expected


def test_every_condition_must_hold() -> None:
    definition = flow("  where:\n    country: GB\n    channel: web\n")

    assert matches(definition, "order.delivered", {"country": "GB", "channel": "web", "other": 1})
    assert not matches(definition, "order.delivered", {"country": "GB", "channel": "store"})


@pytest.mark.parametrize(
    ("where", "properties", "expected"),
    [
        ("tier: 2", {"tier": 2}, True),
        ("tier: 2", {"tier": "2"}, True),
        ("tier: 2", {"tier": 2.0}, True),
        ("tier: 2", {"tier": 3}, False),
        ("tier: '2'", {"tier": 2}, True),
        ("postcode: 01234", {"postcode": "1234"}, False),
        ("postcode: 01234", {"postcode": "01234"}, True),
        ("first_use: true", {"first_use": True}, True),
        ("first_use: true", {"first_use": "true"}, True),
        ("first_use: true", {"first_use": False}, False),
        ("first_use: true", {"first_use": 1}, False),
        ("total: 9.5", {"total": "9.50"}, True),
        ("customer.plan: pro", {"customer": {"plan": "Pro"}}, True),
        ("customer.plan: pro", {"customer": {"plan": "free"}}, False),
        ("customer.plan: pro", {"customer.plan": "pro"}, True),
        ("customer.plan: pro", {"customer": "pro"}, False),
    ],
)
def test_values_compare_as_an_admin_means_them(where: str, properties: dict[str, Any], expected: bool) -> None:
    assert matches(flow(f"  where:\n    {where}\n"), "order.delivered", properties) is expected


def test_sampling_is_deterministic_per_flow_and_event() -> None:
    definition = flow(sample=0.5)
    first = [in_sample(definition, f"event-{n}") for n in range(200)]

    assert first == [in_sample(definition, f"event-{n}") for n in range(200)]
    other = flow(sample=0.5, key="other-flow")
    assert first != [in_sample(other, f"event-{n}") for n in range(200)]


@pytest.mark.parametrize("share", [0.1, 0.25, 0.5, 0.9])
def test_sampling_is_roughly_proportional(share: float) -> None:
    definition = flow(sample=share)
    chosen = sum(in_sample(definition, f"evt_{n:05d}") for n in range(10_000))

    assert abs(chosen / 10_000 - share) < 0.02


def test_sample_one_takes_everything_and_zero_nothing() -> None:
    assert all(in_sample(flow(sample=1.0), f"e{n}") for n in range(100))
    assert not any(in_sample(flow(sample=0.0), f"e{n}") for n in range(100))


COUNTRY = "  where:\n    country: [GB, IE]\n"


@pytest.mark.parametrize(
    ("where", "event_type", "properties", "reason"),
    [
        (COUNTRY, "order.delivered", {"country": "US"}, "country is 'US', needs one of GB, IE"),
        (COUNTRY, "order.delivered", {}, "country is missing, needs one of GB, IE"),
        ("  where:\n    first_use: true\n", "order.delivered", {"first_use": False}, "first_use is false, needs true"),
        ("  where:\n    customer.plan: team\n", "order.delivered", {"customer": {"plan": "solo"}},
         "customer.plan is 'solo', needs team"),
        ("", "order.shipped", {}, "listens to order.delivered, not order.shipped"),
        (COUNTRY, "order.delivered", {"country": "ie"}, None),
    ],
)
def test_a_mismatch_says_which_condition_failed(
    where: str, event_type: str, properties: dict[str, Any], reason: str | None
) -> None:
    assert mismatch(flow(where), event_type, properties) == reason
    assert matches(flow(where), event_type, properties) is (reason is None)


def test_example_properties_satisfy_the_trigger() -> None:
    defn = flow("  where:\n    country: [GB, IE]\n    first_use: true\n    customer.plan: team\n")
    assert example_properties(defn) == {"country": "GB", "first_use": True, "customer.plan": "team"}
    assert matches(defn, "order.delivered", example_properties(defn))
