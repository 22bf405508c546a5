"""Canonical Order v1 refuses orders whose numbers do not add up."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from tradewire.canonical import ExternalRef, Order, canonical_id, customer_key, minor_unit


def order(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "o-1",
        "client_id": "c-1",
        "source": ExternalRef(system="shopify", connection_id="s", object="order", external_id="1"),
        "number": "#1001",
        "placed_at": "2026-11-23T10:00:00-05:00",
        "currency": "USD",
        "lines": [
            {
                "line_id": "1",
                "sku": "A",
                "quantity": 2,
                "unit_price": "10.00",
                "discount": "1.00",
                "tax": "1.14",
                "total": "19.00",
            },
            {"line_id": "2", "sku": "B", "quantity": 1, "unit_price": "5.50", "total": "5.50"},
        ],
        "subtotal": "25.50",
        "discount_total": "1.00",
        "shipping_total": "4.99",
        "tax_total": "1.14",
        "total": "30.63",
    }
    data.update(changes)
    return data


def test_a_consistent_order_validates_and_serialises_money_as_strings() -> None:
    parsed = Order.model_validate(order())
    assert parsed.placed_at.isoformat() == "2026-11-23T15:00:00+00:00"
    dumped = parsed.model_dump(mode="json")
    assert dumped["total"] == "30.63"
    assert dumped["lines"][0]["unit_price"] == "10.00"
    assert Order.model_validate(dumped) == parsed


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"total": "31.63"}, "total 31.63"),
        ({"subtotal": "26.50"}, "subtotal"),
        ({"currency": "XXX"}, "ISO 4217"),
        ({"placed_at": "2026-11-23T10:00:00"}, "timezone"),
        ({"lines": []}, "at least 1"),
        ({"status": "cancelled"}, "cancelled_at"),
    ],
)
def test_inconsistent_orders_are_refused_with_a_reason(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Order.model_validate(order(**changes))
    assert message in str(caught.value)


def test_line_rules() -> None:
    bad = order()
    bad["lines"][0] = dict(bad["lines"][0], quantity=-1)
    with pytest.raises(ValidationError):
        Order.model_validate(bad)
    wrong_total = order()
    wrong_total["lines"][1] = dict(wrong_total["lines"][1], total="6.50")
    with pytest.raises(ValidationError, match="line 2"):
        Order.model_validate(wrong_total)
    repeated = order()
    repeated["lines"][1] = dict(repeated["lines"][1], line_id="1")
    with pytest.raises(ValidationError, match="repeat"):
        Order.model_validate(repeated)


def test_taxes_included_leaves_tax_out_of_the_total() -> None:
    parsed = Order.model_validate(order(taxes_included=True, total="29.49"))
    assert parsed.total == Decimal("29.49")


def test_minor_units_and_rounding_tolerance() -> None:
    assert minor_unit("JPY") == Decimal(1)
    assert minor_unit("KWD") == Decimal("0.001")
    assert minor_unit("EUR") == Decimal("0.01")
    Order.model_validate(order(total="30.64"))  # one cent off is rounding


def test_ids_are_deterministic_per_client() -> None:
    assert canonical_id("c", "order", "shopify:s:1") == canonical_id("c", "order", "shopify:s:1")
    assert canonical_id("c", "order", "shopify:s:1") != canonical_id("d", "order", "shopify:s:1")
    assert customer_key("Bob@Example.com", "7", "1") == "email:bob@example.com"
    assert customer_key(None, "7", "1") == "source:7"
    assert customer_key(None, None, "1") == "guest:1"
