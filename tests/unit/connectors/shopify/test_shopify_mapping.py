"""Shopify REST order → canonical Order, and back, on the docs fixture and hand-made payloads."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradewire.canonical import FinancialStatus, OrderStatus, canonical_id
from tradewire.connectors.shopify import SPEC
from tradewire.connectors.shopify.mapping import order_to_canonical, order_to_rest_payload
from tradewire.errors import MappingError

# shared/ sits beside the repository (locally and in CI).
FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "vendor"


def fixture_order() -> dict[str, Any]:
    data = json.loads((FIXTURES / "shopify_rest_orders_list.json").read_text())
    order: dict[str, Any] = data["response_body"]["orders"][0]
    return order


def small_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": 123,
        "name": "#1042",
        "email": "Ana@Example.com",
        "created_at": "2026-03-01T10:00:00-05:00",
        "updated_at": "2026-03-01T10:05:00-05:00",
        "currency": "USD",
        "financial_status": "paid",
        "taxes_included": False,
        "tags": "vip, gift ,, wholesale",
        "total_line_items_price": "50.00",
        "total_tax": "4.50",
        "total_price": "62.50",
        "line_items": [
            {"id": 1, "sku": "A", "title": "Tee", "quantity": 2, "price": "10.00", "tax_lines": [{"price": "1.80"}]},
            {
                "id": 2,
                "sku": "B",
                "title": "Cap",
                "quantity": 1,
                "price": "30.00",
                "tax_lines": [{"price": "2.70"}],
                "discount_allocations": [{"amount": "0.00"}],
            },
        ],
        "shipping_lines": [{"title": "Standard", "price": "8.00", "discount_allocations": []}],
    }
    order.update(changes)
    return order


def to_canonical(payload: dict[str, Any]) -> Any:
    return order_to_canonical(payload, client_id="client-1", connection_id="conn-1")


def test_docs_fixture_maps_to_the_numbers_a_merchant_sees() -> None:
    order = to_canonical(fixture_order())
    assert order.number == "#1001"
    assert order.id == canonical_id("client-1", "order", "shopify:conn-1:450789469")
    assert (order.source.system, order.source.connection_id, order.source.external_id) == (
        "shopify",
        "conn-1",
        "450789469",
    )
    # Two unshipped iPods were refunded and restocked (current_quantity 0): the order the ERP must
    # ship is the one left, and its total is Shopify's own current_total_price.
    assert [line.quantity for line in order.lines] == [0, 1, 0]
    assert order.subtotal == Decimal("199.00")
    assert order.discount_total == Decimal("3.33")
    assert order.tax_total == Decimal("3.98")
    assert order.shipping_total == Decimal("0.00")
    assert order.total == Decimal(fixture_order()["current_total_price"]) == Decimal("199.65")
    assert [line.discount for line in order.lines] == [Decimal("0"), Decimal("3.33"), Decimal("0")]
    assert [line.total for line in order.lines] == [Decimal("0"), Decimal("195.67"), Decimal("0")]
    assert [line.sku for line in order.lines] == ["IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"]
    assert order.lines[1].tax == Decimal("3.98")
    assert order.placed_at == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    assert order.financial_status is FinancialStatus.PARTIALLY_REFUNDED
    assert order.status is OrderStatus.OPEN
    assert order.customer.email == "bob.norman@mail.example.com"
    assert order.customer.source_customer_id == "207119551"
    assert order.shipping_address is not None
    assert (order.shipping_address.line1, order.shipping_address.line2) == ("Chestnut Street 92", None)
    assert (order.shipping_address.region, order.shipping_address.postal_code) == ("KY", "40202")
    assert order.tags == []


def test_spec_order_source_is_the_same_mapping() -> None:
    assert SPEC.order_source is not None
    assert SPEC.order_source.to_order(fixture_order(), client_id="client-1", connection_id="conn-1") == to_canonical(
        fixture_order()
    )


def test_tags_buyer_and_shipping() -> None:
    order = to_canonical(small_order())
    assert order.tags == ["vip", "gift", "wholesale"]
    assert order.customer.email == "ana@example.com"
    assert order.shipping_total == Decimal("8.00")
    assert order.total == Decimal("62.50")


def test_taxes_included_totals_leave_tax_out_of_the_sum() -> None:
    payload = small_order(
        taxes_included=True,
        total_line_items_price="60.00",
        total_tax="10.00",
        total_price="65.00",
        line_items=[{"id": 1, "title": "Jacket", "quantity": 1, "price": "60.00", "tax_lines": [{"price": "10.00"}]}],
        shipping_lines=[{"price": "5.00"}],
    )
    order = to_canonical(payload)
    assert order.taxes_included
    assert (order.subtotal, order.tax_total, order.total) == (Decimal("60.00"), Decimal("10.00"), Decimal("65.00"))


def test_shipping_discounts_are_netted_into_shipping() -> None:
    payload = small_order(
        total_discounts="13.00",
        total_price="49.50",
        line_items=[
            {"id": 1, "title": "Tee", "quantity": 2, "price": "10.00", "discount_allocations": [{"amount": "5.00"}]},
            {"id": 2, "title": "Cap", "quantity": 1, "price": "30.00", "tax_lines": [{"price": "4.50"}]},
        ],
        shipping_lines=[{"price": "8.00", "discount_allocations": [{"amount": "8.00"}]}],
    )
    order = to_canonical(payload)
    assert order.discount_total == Decimal("5.00")
    assert order.shipping_total == Decimal("0.00")
    assert order.lines[0].total == Decimal("15.00")
    assert order.total == Decimal("49.50")


def test_statuses_follow_cancelled_and_closed_times() -> None:
    cancelled = to_canonical(
        small_order(cancelled_at="2026-03-02T09:00:00Z", cancel_reason="customer", closed_at="2026-03-02T09:00:00Z")
    )
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.cancel_reason == "customer"
    assert to_canonical(small_order(closed_at="2026-03-02T09:00:00Z")).status is OrderStatus.CLOSED
    assert to_canonical(small_order(financial_status="something_new")).financial_status is FinancialStatus.UNKNOWN


def test_guest_order_takes_the_name_from_the_billing_address() -> None:
    order = to_canonical(
        small_order(customer=None, billing_address={"first_name": "Gus", "last_name": "Guest", "country_code": "us"})
    )
    assert (order.customer.first_name, order.customer.last_name) == ("Gus", "Guest")
    assert order.customer.source_customer_id is None
    assert order.billing_address is not None
    assert order.billing_address.country_code == "US"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"id": None}, "order: id"),
        ({"id": 1.5}, "is a float"),
        ({"line_items": []}, "order 123 has no line items"),
        ({"currency": "XYZ"}, "currency 'XYZ' is not an ISO 4217 code"),
        ({"currency": None}, "order 123 has no currency"),
        ({"created_at": None}, "neither processed_at nor created_at"),
        ({"total_price": "62.49.1"}, "total_price '62.49.1' is not a number"),
        ({"total_price": "99.00"}, "total 99.00 != subtotal"),
        ({"total_line_items_price": "NaN"}, "is not a finite number"),
        ({"email": "not-an-email"}, "not an e-mail address"),
    ],
)
def test_bad_payloads_get_a_reason_a_person_can_act_on(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(MappingError) as caught:
        to_canonical(small_order(**changes))
    message = str(caught.value)
    assert reason in message
    assert "pydantic" not in message
    assert "validation error for" not in message


def test_line_problems_name_the_line() -> None:
    payload = small_order()
    payload["line_items"][1]["price"] = "abc"
    with pytest.raises(MappingError, match=r"line_items\[1\]\.price 'abc' is not a number"):
        to_canonical(payload)
    payload = small_order()
    payload["line_items"][0]["quantity"] = -2
    with pytest.raises(MappingError, match=r"line_items\[0\]\.quantity -2 is negative"):
        to_canonical(payload)
    payload = small_order()
    payload["line_items"][0]["quantity"] = "two"
    with pytest.raises(MappingError, match=r"line_items\[0\]\.quantity 'two' is not a whole number"):
        to_canonical(payload)
    payload = small_order()
    del payload["line_items"][0]["id"]
    with pytest.raises(MappingError, match=r"line_items\[0\]\.id is missing"):
        to_canonical(payload)


def test_a_payload_that_is_not_an_object_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="JSON object"):
        order_to_canonical([1, 2], client_id="c", connection_id="k")  # type: ignore[arg-type]


def test_ids_above_2_pow_53_are_kept_exactly() -> None:
    huge = 2**64 + 7
    payload = small_order(id=huge, customer={"id": 2**53 + 1, "email": "a@b.co"})
    payload["line_items"][0]["id"] = 2**53 + 3
    order = to_canonical(payload)
    assert order.source.external_id == "18446744073709551623"
    assert order.customer.source_customer_id == "9007199254740993"
    assert order.lines[0].line_id == "9007199254740995"
    assert order_to_rest_payload(order)["id"] == huge


def test_round_trip_canonical_rest_canonical() -> None:
    for payload in (fixture_order(), small_order(), small_order(customer=None, phone="+15550001")):
        first = to_canonical(payload)
        rest = order_to_rest_payload(first)
        assert to_canonical(rest) == first
        assert to_canonical(json.loads(json.dumps(rest))) == first


def test_rest_payload_writes_money_as_strings() -> None:
    rest = order_to_rest_payload(to_canonical(fixture_order()))
    assert rest["total_price"] == "199.65"
    assert rest["subtotal_price"] == "195.67"
    assert rest["line_items"][1]["price"] == "199.00"
    assert rest["line_items"][1]["discount_allocations"] == [{"amount": "3.33"}]
    assert rest["id"] == 450789469


def test_mapping_does_not_change_its_input() -> None:
    payload = fixture_order()
    before = copy.deepcopy(payload)
    to_canonical(payload)
    assert payload == before
