"""Units cancelled on Shopify (``current_quantity`` lowered) reach the canonical order; shipped lines do not shrink."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradewire.connectors.shopify.mapping import order_to_canonical


def edited_order(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": 77,
        "name": "#1077",
        "created_at": "2026-03-01T10:00:00Z",
        "updated_at": "2026-03-01T11:00:00Z",
        "currency": "USD",
        "total_line_items_price": "60.00",
        "total_tax": "6.00",
        "total_price": "71.00",
        "line_items": [
            {
                "id": 1,
                "sku": "A",
                "title": "Tee",
                "quantity": 3,
                "price": "10.00",
                "tax_lines": [{"price": "3.00"}],
                "discount_allocations": [{"amount": "3.00"}],
                **first,
            },
            {
                "id": 2,
                "sku": "B",
                "title": "Cap",
                "quantity": 1,
                "price": "30.00",
                "tax_lines": [{"price": "3.00"}],
                **second,
            },
        ],
        "shipping_lines": [{"title": "Standard", "price": "8.00", "discount_allocations": []}],
    }


def test_cancelled_units_of_an_unshipped_line_leave_the_order_with_their_share_of_discount_and_tax() -> None:
    order = order_to_canonical(
        edited_order({"current_quantity": 1}, {"current_quantity": 0}), client_id="c", connection_id="s"
    )
    tee, cap = order.lines
    assert (tee.quantity, tee.discount, tee.tax, tee.total) == (1, Decimal("1.00"), Decimal("1.00"), Decimal("9.00"))
    assert (cap.quantity, cap.total) == (0, Decimal("0"))
    assert order.subtotal == Decimal("10.00")
    assert order.total == Decimal("10.00") - Decimal("1.00") + Decimal("8.00") + Decimal("1.00")


def test_a_fulfilled_line_keeps_its_quantity_and_an_untouched_order_its_channel_totals() -> None:
    shipped = edited_order({"current_quantity": 1, "fulfillment_status": "fulfilled"}, {})
    order = order_to_canonical(shipped, client_id="c", connection_id="s")
    assert [line.quantity for line in order.lines] == [3, 1]
    assert order.total == Decimal("71.00")
