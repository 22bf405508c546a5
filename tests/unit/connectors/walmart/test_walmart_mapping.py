"""Walmart ⇄ canonical mappings, on the vendor fixtures."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradewire.canonical import (
    FinancialStatus,
    FulfillmentStatus,
    InventoryLevel,
    OrderStatus,
    Shipment,
    ShipmentLine,
)
from tradewire.canonical.refs import ExternalRef
from tradewire.connectors.walmart import SPEC
from tradewire.connectors.walmart.mapping import order_to_canonical, shipment_to_ship_request
from tradewire.errors import MappingError
from tradewire.services.mapping import map_record

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "vendor"


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _orders() -> list[dict[str, Any]]:
    return list(_fixture("walmart_getAllOrders_response.json")["list"]["elements"]["order"])


def test_first_fixture_order_maps_every_field() -> None:
    order = order_to_canonical(_orders()[0], client_id="c1", connection_id="w1")
    assert order.source == ExternalRef(
        system="walmart", connection_id="w1", object="order", external_id="1796277083022"
    )
    assert order.number == "5281956426648"
    assert order.placed_at == datetime.fromtimestamp(1568466571, tz=UTC)
    assert order.updated_at == datetime.fromtimestamp(1568466647, tz=UTC)
    assert order.currency == "USD"
    assert order.status is OrderStatus.OPEN
    assert order.financial_status is FinancialStatus.PAID
    assert order.fulfillment_status is FulfillmentStatus.UNFULFILLED
    (line,) = order.lines
    assert (line.line_id, line.sku, line.quantity) == ("4", "test1", 1)
    assert (line.unit_price, line.tax, line.total) == (Decimal(10), Decimal("0.8"), Decimal(10))
    assert (order.subtotal, order.tax_total, order.total) == (Decimal(10), Decimal("0.8"), Decimal("10.8"))
    assert order.shipping_address is not None
    assert order.shipping_address.country_code == "US"
    assert order.shipping_address.line2 == "Garage"
    assert (order.customer.first_name, order.customer.last_name) == ("Kathryn", "Cole")
    assert order.customer.email == "3a31739d8b0a45a1b23f7f8c81c8747f@relay.walmart.com"
    assert order.tags == ["walmart:replacement"]


def test_statuses_of_the_fixture_orders() -> None:
    mapped = {o["purchaseOrderId"]: order_to_canonical(o, client_id="c", connection_id="w") for o in _orders()}
    cancelled = mapped["3796235970012"]
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.cancelled_at == datetime.fromtimestamp(1568527247, tz=UTC)
    shipped = mapped["2792360062965"]
    assert shipped.fulfillment_status is FulfillmentStatus.FULFILLED
    assert shipped.total == Decimal("10.84")


def test_quantity_two_splits_the_line_amount_into_a_unit_price() -> None:
    element = copy.deepcopy(_orders()[0])
    line = element["orderLines"]["orderLine"][0]
    line["orderLineQuantity"]["amount"] = "2"
    line["charges"]["charge"][0]["chargeAmount"]["amount"] = 25.98
    line["charges"]["charge"].append(
        {"chargeType": "SHIPPING", "chargeName": "Shipping", "chargeAmount": {"currency": "USD", "amount": 4.5}}
    )
    order = order_to_canonical(element, client_id="c", connection_id="w")
    assert (order.lines[0].unit_price, order.lines[0].total) == (Decimal("12.99"), Decimal("25.98"))
    assert order.shipping_total == Decimal("4.5")
    assert order.total == Decimal("25.98") + Decimal("4.5") + Decimal("0.8")


def test_acknowledged_order_maps_through_map_record() -> None:
    element = _fixture("walmart_acknowledgeOrders_response.json")["order"]
    mapped = map_record("walmart", "order", json.dumps(element).encode())
    assert mapped["source"]["external_id"] == "1796277083022"
    assert mapped["lines"][0]["sku"] == "test1"
    assert mapped["updated_at"] == "2019-09-17T20:45:56Z"


def test_inventory_maps_through_map_record_both_ways() -> None:
    fixture = _fixture("walmart_updateInventory_put.json")
    level = map_record("walmart", "inventory", json.dumps(fixture["response_body"]).encode())
    assert (level["sku"], level["available"]) == ("97964_KFTest", 10)
    body = map_record("canonical", "inventory", json.dumps(level).encode(), to="walmart")
    assert body == fixture["request_body"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda o: o["orderLines"]["orderLine"][0]["orderLineQuantity"].update(amount="one"), "'one' is not a whole"),
        (lambda o: o["orderLines"]["orderLine"][0]["charges"]["charge"][0].update(chargeType="FEE"), "'FEE'"),
        (lambda o: o.pop("purchaseOrderId"), "purchaseOrderId is missing"),
        (lambda o: o["orderLines"].update(orderLine=[]), "has no order lines"),
        (lambda o: o["orderLines"]["orderLine"][0]["charges"]["charge"][0]["chargeAmount"].update(currency="XX"), "XX"),
    ],
)
def test_bad_orders_say_what_is_wrong(change: Any, reason: str) -> None:
    element = copy.deepcopy(_orders()[0])
    change(element)
    with pytest.raises(MappingError, match=reason):
        order_to_canonical(element, client_id="c", connection_id="w")


def test_reference_names_the_po_of_an_event_and_none_for_a_full_order() -> None:
    source = SPEC.order_source
    assert source is not None
    event = _fixture("walmart_po_created_event_RECONSTRUCTED.json")
    event["payload"]["purchaseOrderId"] = "1796277083022"
    assert source.reference(event) == "1796277083022"
    assert source.reference(event["payload"]) == "1796277083022"
    assert source.reference(_orders()[0]) is None
    assert source.reference({"order": _orders()[0]}) is None
    with pytest.raises(MappingError, match="no purchaseOrderId"):
        source.reference({"source": {}, "payload": {"partnerId": "1"}})


def _shipment(**changes: Any) -> Shipment:
    base: dict[str, Any] = {
        "id": "s1",
        "client_id": "c",
        "source": ExternalRef(system="wms", connection_id="x", object="shipment", external_id="1"),
        "order_number": "5281956426648",
        "shipped_at": datetime.fromtimestamp(1580821866, tz=UTC),
        "carrier": "ups",
        "service": "Standard",
        "tracking_number": "22344",
        "tracking_url": "http://walmart/tracking/ups?&type=MP",
        "lines": [
            ShipmentLine(sku="a", quantity=1, order_line_id="1"),
            ShipmentLine(sku="b", quantity=1, order_line_id="2"),
        ],
    }
    return Shipment(**(base | changes))


def test_shipment_becomes_the_fixture_shaped_ship_body() -> None:
    body = shipment_to_ship_request(_shipment())
    fixture = _fixture("walmart_shipOrderLines_request.json")
    got_line = body["orderShipment"]["orderLines"]["orderLine"][0]
    want_line = fixture["orderShipment"]["orderLines"]["orderLine"][0]
    got_status = got_line["orderLineStatuses"]["orderLineStatus"][0]
    want_status = want_line["orderLineStatuses"]["orderLineStatus"][0]
    assert got_line["lineNumber"] == want_line["lineNumber"]
    assert got_status["status"] == want_status["status"]
    assert got_status["statusQuantity"] == want_status["statusQuantity"]
    tracking, expected = got_status["trackingInfo"], want_status["trackingInfo"]
    for key in ("shipDateTime", "carrierName", "methodCode", "trackingNumber"):
        assert tracking[key] == expected[key], key
    other = shipment_to_ship_request(_shipment(carrier="Acme Freight", service="two day"))
    status = other["orderShipment"]["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"][0]
    assert status["trackingInfo"]["carrierName"] == {"otherCarrier": "Acme Freight"}
    assert status["trackingInfo"]["methodCode"] == "Standard"


def test_shipment_without_walmart_line_numbers_is_refused() -> None:
    with pytest.raises(MappingError, match="order_line_id must be the Walmart lineNumber"):
        shipment_to_ship_request(_shipment(lines=[ShipmentLine(sku="a", quantity=1)]))
    with pytest.raises(MappingError, match="tracking number"):
        shipment_to_ship_request(_shipment(tracking_number=None))


def test_negative_inventory_is_refused() -> None:
    reads = SPEC.reads["inventory"]
    with pytest.raises(MappingError, match="negative"):
        reads.to_canonical({"sku": "a", "quantity": {"unit": "EACH", "amount": -1}}, client_id="c", connection_id="w")
    level = reads.to_canonical({"sku": "a", "quantity": {"amount": 3}}, client_id="c", connection_id="w")
    assert isinstance(level, InventoryLevel)


def test_a_line_amount_that_does_not_divide_keeps_its_exact_total() -> None:
    element = copy.deepcopy(_orders()[0])
    line = element["orderLines"]["orderLine"][0]
    line["orderLineQuantity"]["amount"] = "3"
    line["charges"]["charge"][0]["chargeAmount"]["amount"] = 10
    order = order_to_canonical(element, client_id="c", connection_id="w")
    assert order.lines[0].total == Decimal(10)
    assert order.lines[0].unit_price == Decimal("3.333333")
    assert order.subtotal == Decimal(10)
