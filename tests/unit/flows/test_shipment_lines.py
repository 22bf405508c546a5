"""Which order lines a shipment ships: partial, multi-package, split SKUs, over-shipment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tradewire.canonical import ExternalRef, Order, Shipment
from tradewire.flows.shipment_lines import (
    OverShipment,
    UnknownShipmentLine,
    fully_shipped,
    match_lines,
    shipped_after,
)


def make_order(*lines: tuple[str, str | None, int]) -> Order:
    """An order with lines ``(line_id, sku, quantity)`` at 10.00 each."""
    rows = [
        {"line_id": lid, "sku": sku, "quantity": qty, "unit_price": "10.00", "total": f"{qty * 10}.00"}
        for lid, sku, qty in lines
    ]
    subtotal = Decimal(sum(qty for _, _, qty in lines) * 10)
    return Order.model_validate(
        {
            "id": "order-1",
            "client_id": "c-1",
            "source": ExternalRef(system="walmart", connection_id="wm", object="order", external_id="PO1"),
            "number": "1001",
            "placed_at": "2026-11-23T10:00:00Z",
            "currency": "USD",
            "lines": rows,
            "subtotal": str(subtotal),
            "total": str(subtotal),
        }
    )


def make_shipment(*lines: dict[str, Any], shipment_id: str = "ship-1") -> Shipment:
    return Shipment.model_validate(
        {
            "id": shipment_id,
            "client_id": "c-1",
            "source": ExternalRef(system="netsuite", connection_id="ns", object="itemFulfillment", external_id="9"),
            "order_number": "1001",
            "shipped_at": "2026-11-23T12:00:00Z",
            "tracking_number": "1Z999",
            "lines": list(lines),
        }
    )


def test_a_partial_shipment_names_the_order_line_of_its_sku_and_leaves_the_rest_open() -> None:
    order = make_order(("1", "A", 2), ("2", "B", 1))
    matched = match_lines(order, make_shipment({"sku": "A", "quantity": 1}), {})
    assert [(m.order_line_id, m.sku, m.quantity) for m in matched] == [("1", "A", 1)]
    shipped = shipped_after({}, matched)
    assert shipped == {"1": 1}
    assert not fully_shipped(order, shipped)


def test_packages_of_one_order_add_up_until_every_line_has_shipped() -> None:
    order = make_order(("1", "A", 2), ("2", "B", 1))
    shipped: dict[str, int] = {}
    for number, lines in enumerate(
        ([{"sku": "A", "quantity": 1}], [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 1}])
    ):
        matched = match_lines(order, make_shipment(*lines, shipment_id=f"box-{number}"), shipped)
        shipped = shipped_after(shipped, matched)
    assert shipped == {"1": 2, "2": 1}
    assert fully_shipped(order, shipped)


def test_one_sku_on_two_order_lines_is_split_across_them_in_order() -> None:
    order = make_order(("1", "A", 1), ("2", "A", 2))
    matched = match_lines(order, make_shipment({"sku": "A", "quantity": 3}), {})
    assert [(m.order_line_id, m.quantity) for m in matched] == [("1", 1), ("2", 2)]


def test_a_line_that_names_its_order_line_ships_that_line() -> None:
    order = make_order(("1", "A", 1), ("2", "A", 1))
    matched = match_lines(order, make_shipment({"sku": "A", "quantity": 1, "order_line_id": "2"}), {})
    assert [(m.order_line_id, m.quantity) for m in matched] == [("2", 1)]


def test_shipping_more_than_is_open_is_an_over_shipment_a_person_must_see() -> None:
    order = make_order(("1", "A", 2))
    with pytest.raises(OverShipment, match=r"ships 2 × A but order 1001 has only 1 open"):
        match_lines(order, make_shipment({"sku": "A", "quantity": 2}), {"1": 1})


def test_shipping_a_line_again_after_it_shipped_in_full_is_an_over_shipment() -> None:
    order = make_order(("1", "A", 1))
    with pytest.raises(OverShipment):
        match_lines(order, make_shipment({"sku": "A", "quantity": 1}), {"1": 1})


def test_a_sku_that_is_not_on_the_order_is_refused_with_its_name() -> None:
    order = make_order(("1", "A", 1))
    with pytest.raises(UnknownShipmentLine, match="ships ZZZ, which is not on order 1001"):
        match_lines(order, make_shipment({"sku": "ZZZ", "quantity": 1}), {})
    assert OverShipment.kind == "over_shipment"
    assert UnknownShipmentLine.kind == "unknown_shipment_line"
