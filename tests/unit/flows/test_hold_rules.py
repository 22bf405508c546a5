"""Which hold rules an order matches, and how misconfigured rules are refused (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tradewire.canonical import Address, ExternalRef, Order, OrderLine
from tradewire.errors import ConfigError
from tradewire.flows.hold_rules import HoldRules, matching_rules, missing_address_parts, parse_rules


def make_order(**changes: Any) -> Order:
    """A 64.65 USD order with a complete shipping address."""
    fields: dict[str, Any] = {
        "id": "order-1",
        "client_id": "client-1",
        "source": ExternalRef(system="shop", connection_id="c1", object="order", external_id="1001"),
        "number": "#1001",
        "placed_at": datetime(2026, 3, 1, 21, 30, tzinfo=UTC),
        "currency": "USD",
        "shipping_address": Address(line1="1 Main St", city="Austin", postal_code="78701", country_code="US"),
        "lines": [OrderLine(line_id="L1", sku="TEE", quantity=2, unit_price=Decimal("29.83"), total=Decimal("59.66"))],
        "subtotal": Decimal("59.66"),
        "shipping_total": Decimal("4.99"),
        "total": Decimal("64.65"),
    }
    fields.update(changes)
    return Order(**fields)


def rules_of(order_rules: dict[str, object]) -> HoldRules:
    return parse_rules(order_rules)


def test_no_rules_hold_nothing() -> None:
    rules = parse_rules({})
    assert not rules.active
    assert matching_rules(make_order(), rules) == []


def test_high_value_holds_at_the_amount_and_only_in_its_currency() -> None:
    order = make_order()  # total 64.65 USD
    assert [r["rule"] for r in matching_rules(order, rules_of({"high_value": {"amount": "64.65"}}))] == ["high_value"]
    assert matching_rules(order, rules_of({"high_value": {"amount": "64.66"}})) == []
    assert matching_rules(order, rules_of({"high_value": {"amount": "10", "currency": "EUR"}})) == []
    assert matching_rules(order, rules_of({"high_value": {"amount": "10", "currency": "usd"}}))


def test_incomplete_address_names_what_is_missing() -> None:
    rules = rules_of({"address_incomplete": True})
    assert matching_rules(make_order(), rules) == []
    no_city = make_order(shipping_address=Address(line1="1 Main St", city=" ", postal_code="78701", country_code="US"))
    [reason] = matching_rules(no_city, rules)
    assert reason == {"rule": "address_incomplete", "detail": "missing city"}
    assert missing_address_parts(make_order(shipping_address=None)) == ["shipping address"]


def test_fraud_and_tag_rules_match_tags_whatever_their_case() -> None:
    rules = rules_of({"fraud_tags": ["High-Risk"], "tags": ["manual-review"]})
    order = make_order(tags=["high-risk", "Manual-Review", "vip"])
    assert [r["rule"] for r in matching_rules(order, rules)] == ["fraud_flag", "tag"]
    assert matching_rules(make_order(tags=["vip"]), rules) == []


@pytest.mark.parametrize(
    ("settings", "where"),
    [
        ({"high_valu": {"amount": "5"}}, "settings.holds.high_valu"),
        ({"high_value": {"amount": "-5"}}, "settings.holds.high_value.amount"),
        ({"recheck_seconds": 0}, "settings.holds.recheck_seconds"),
        ({"auto_release_after_minutes": "soon"}, "settings.holds.auto_release_after_minutes"),
    ],
)
def test_misconfigured_rules_are_refused_with_the_field(settings: dict[str, object], where: str) -> None:
    with pytest.raises(ConfigError, match=where.replace(".", r"\.")):
        parse_rules(settings)


def test_auto_release_after_is_a_duration() -> None:
    rules = rules_of({"tags": ["x"], "auto_release_after_minutes": 90})
    assert rules.auto_release_after is not None
    assert rules.auto_release_after.total_seconds() == 5400
