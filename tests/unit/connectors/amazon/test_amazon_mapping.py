"""Amazon ⇄ canonical mappings, checked against the vendor fixtures and the canonical invariants."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tradewire.canonical import ExternalRef, InventoryLevel, OrderStatus, Shipment, ShipmentLine
from tradewire.connectors.amazon import SPEC
from tradewire.connectors.amazon.mapping import AmazonOrderSource, order_to_canonical
from tradewire.connectors.amazon.mapping_outbound import (
    inventory_feed,
    inventory_to_listings_patch,
    package_reference_id,
    shipment_to_confirm_shipment,
)
from tradewire.errors import MappingError
from tradewire.services.mapping import map_record

Load = Callable[[str], Any]


def combined(load: Load) -> dict[str, Any]:
    """The getOrders fixture order with the getOrderItems fixture items (what the reader returns)."""
    order = load("amazon_getOrders_response.json")["payload"]["Orders"][0]
    items = load("amazon_getOrderItems_response.json")["payload"]["OrderItems"]
    return {**order, "OrderItems": items}


def money(amount: str, currency: str = "USD") -> dict[str, str]:
    return {"CurrencyCode": currency, "Amount": amount}


def us_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "AmazonOrderId": "111-2222222-3333333",
        "PurchaseDate": "2026-05-04T10:30:00Z",
        "LastUpdateDate": "2026-05-04T11:00:00Z",
        "OrderStatus": "Unshipped",
        "FulfillmentChannel": "MFN",
        "MarketplaceId": "ATVPDKIKX0DER",
        "IsPrime": True,
        "OrderTotal": money("62.97"),
        "OrderItems": [
            {
                "ASIN": "B0001",
                "OrderItemId": "10001",
                "SellerSKU": "TSHIRT-BLK-M",
                "Title": "T-shirt",
                "QuantityOrdered": 3,
                "ItemPrice": money("50.00"),
                "PromotionDiscount": money("5.00"),
                "ItemTax": money("3.60"),
                "ShippingPrice": money("4.99"),
                "ShippingTax": money("0.40"),
            },
            {
                "ASIN": "B0002",
                "OrderItemId": "10002",
                "SellerSKU": "SOCKS-3PK",
                "Title": "Socks",
                "QuantityOrdered": 1,
                "ItemPrice": money("8.00"),
                "ItemTax": money("0.98"),
            },
        ],
    }
    order.update(changes)
    return order


def test_fixture_order_with_items_maps_to_a_valid_canonical_order(load: Load) -> None:
    order = order_to_canonical(combined(load), client_id="c1", connection_id="amz")
    assert order.number == "902-3159896-1390916"
    assert order.source.external_id == "902-3159896-1390916"
    assert order.currency == "JPY"
    assert [(line.sku, line.quantity, line.total) for line in order.lines] == [
        ("CBA_OTF_1", 1, Decimal("25.99")),
        ("CBA_OTF_5", 2, Decimal("17.95")),
    ]
    # ItemPrice is the line total: the unit price is ItemPrice / QuantityOrdered.
    assert order.lines[1].unit_price == Decimal("8.975")
    assert order.subtotal == Decimal("43.94")
    assert order.customer.email == "user@example.com"
    assert (order.customer.first_name, order.customer.last_name) == ("John", "Doe")
    assert order.shipping_address is not None
    assert order.shipping_address.postal_code == "48817"
    assert order.status is OrderStatus.OPEN
    assert order.financial_status.value == "pending"


def test_us_order_totals_match_order_total_tax_exclusive() -> None:
    order = order_to_canonical(us_order(), client_id="c1", connection_id="amz")
    assert order.subtotal == Decimal("58.00")
    assert order.discount_total == Decimal("5.00")
    assert order.shipping_total == Decimal("4.99")
    assert order.tax_total == Decimal("4.98")
    assert order.total == Decimal("62.97")
    assert not order.taxes_included
    line = order.lines[0]
    assert (line.discount, line.tax, line.total) == (Decimal("5.00"), Decimal("3.60"), Decimal("45.00"))
    # 50.00 / 3 does not divide: the unit price keeps six places, within a cent of ItemPrice.
    assert line.unit_price == Decimal("16.666667")
    assert abs(line.unit_price * line.quantity - Decimal("50.00")) < Decimal("0.01")
    assert "prime" in order.tags
    assert "amazon:MFN" in order.tags


def test_vat_marketplace_total_is_read_as_tax_included() -> None:
    order = order_to_canonical(us_order(OrderTotal=money("57.99")), client_id="c1", connection_id="amz")
    assert order.taxes_included
    assert order.total == Decimal("57.99")


def test_order_total_that_matches_nothing_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match=r"OrderTotal 99\.00 USD does not match its items"):
        order_to_canonical(us_order(OrderTotal=money("99.00")), client_id="c1", connection_id="amz")


def test_cancelled_order_maps_with_cancel_time_and_reason() -> None:
    payload = us_order(OrderStatus="Canceled")
    payload.pop("OrderTotal")
    for item in payload["OrderItems"]:
        item.update(QuantityOrdered=0, ItemPrice=money("0.00"), PromotionDiscount=money("0.00"),
                    ItemTax=money("0.00"), ShippingPrice=money("0.00"), ShippingTax=money("0.00"))  # fmt: skip
    payload["OrderItems"][0]["BuyerRequestedCancel"] = {"IsBuyerRequestedCancel": "true", "BuyerCancelReason": "Late"}
    order = order_to_canonical(payload, client_id="c1", connection_id="amz")
    assert order.status is OrderStatus.CANCELLED
    assert order.cancelled_at == datetime(2026, 5, 4, 11, 0, tzinfo=UTC)
    assert order.cancel_reason == "Late"
    assert order.total == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"OrderItems": []}, "has no OrderItems"),
        ({"OrderStatus": "Lost"}, "unknown OrderStatus 'Lost'"),
        ({"PurchaseDate": "yesterday"}, "PurchaseDate 'yesterday' is not an ISO-8601 time"),
        ({"AmazonOrderId": ""}, "AmazonOrderId is missing"),
        ({"OrderTotal": money("62.97", "EUR")}, "is in EUR but the order is in USD"),
        ({"OrderTotal": {"CurrencyCode": "USD", "Amount": "lots"}}, "is not a number"),
    ],
)
def test_bad_orders_give_a_reason_a_person_can_act_on(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(MappingError, match=reason):
        order_to_canonical(us_order(**change), client_id="c1", connection_id="amz")


def test_order_source_references_notifications_and_bare_orders(load: Load) -> None:
    source = AmazonOrderSource()
    notification = load("amazon_order_change_notification.json")
    assert source.reference(notification) == "903-8868176-2219830"
    assert source.reference({"detail": notification, "detail-type": "ORDER_CHANGE"}) == "903-8868176-2219830"
    bare = load("amazon_getOrders_response.json")["payload"]["Orders"][0]
    assert source.reference(bare) == "902-3159896-1390916"
    assert source.reference(combined(load)) is None
    with pytest.raises(MappingError, match="only names the order"):
        source.to_order(notification, client_id="c1", connection_id="amz")


def test_map_record_maps_an_amazon_order_through_the_service(load: Load) -> None:
    mapped = map_record("amazon", "order", json.dumps(combined(load)).encode())
    assert mapped["number"] == "902-3159896-1390916"
    assert mapped["source"]["system"] == "amazon"
    with pytest.raises(MappingError, match="has no OrderItems"):
        map_record(
            "amazon", "order", json.dumps(load("amazon_getOrders_response.json")["payload"]["Orders"][0]).encode()
        )


def shipment(**changes: Any) -> Shipment:
    values: dict[str, Any] = {
        "id": "7b7b3c0e-5f0a-4d57-9a55-1b2f3e4d5c6a",
        "client_id": "c1",
        "source": ExternalRef(system="wms", connection_id="w", object="shipment", external_id="S-1"),
        "order_number": "111-2222222-3333333",
        "shipped_at": datetime(2022, 2, 11, 1, 0, tzinfo=UTC),
        "carrier": "FedEx",
        "service": "FedEx Ground",
        "tracking_number": "112345678",
        "lines": [ShipmentLine(sku="CBA_OTF_5", quantity=1, order_line_id="79039765272157")],
    }
    values.update(changes)
    return Shipment(**values)


def test_shipment_becomes_the_confirm_shipment_body_of_the_fixture(load: Load) -> None:
    expected = load("amazon_confirmShipment_request.json")
    body = shipment_to_confirm_shipment(shipment(), marketplace_id="ATVPDKIKX0DER")
    detail, wanted = body["packageDetail"], expected["packageDetail"]
    assert body["marketplaceId"] == expected["marketplaceId"]
    for key in ("carrierCode", "carrierName", "shippingMethod", "trackingNumber", "shipDate"):
        assert detail[key] == wanted[key], key
    assert detail["orderItems"] == [{"orderItemId": "79039765272157", "quantity": 1}]
    # Amazon accepts only positive numbers, sent as a string; the same package gets the same one.
    assert detail["packageReferenceId"].isdigit()
    assert int(detail["packageReferenceId"]) > 0
    assert detail["packageReferenceId"] == package_reference_id(shipment().id)
    assert package_reference_id("other-shipment") != detail["packageReferenceId"]


def test_shipment_lines_without_order_line_get_placeholders_or_resolved_ids() -> None:
    lines = [ShipmentLine(sku="SOCKS-3PK", quantity=2)]
    body = shipment_to_confirm_shipment(shipment(lines=lines, carrier="Bob's Trucks"))
    assert body["marketplaceId"] == "<marketplaceId>"
    assert body["packageDetail"]["orderItems"] == [{"orderItemId": "<orderItemId SOCKS-3PK>", "quantity": 2}]
    assert body["packageDetail"]["carrierCode"] == "Other"
    assert body["packageDetail"]["carrierName"] == "Bob's Trucks"
    resolved = shipment_to_confirm_shipment(shipment(lines=lines), order_item_ids={"SOCKS-3PK": "555"})
    assert resolved["packageDetail"]["orderItems"] == [{"orderItemId": "555", "quantity": 2}]


def level(sku: str = "My-SKU-D", available: int = 10, **changes: Any) -> InventoryLevel:
    return InventoryLevel(
        client_id="c1", sku=sku, available=available, as_of=datetime(2026, 5, 4, tzinfo=UTC), **changes
    )


def test_inventory_becomes_the_fixture_patch(load: Load) -> None:
    message = load("amazon_json_listings_feed_example.json")["messages"][3]
    body = inventory_to_listings_patch(level(), product_type="LUGGAGE")
    assert body == {"productType": message["productType"], "patches": message["patches"]}
    with_latency = inventory_to_listings_patch(level(fulfillment_latency_days=3))
    assert with_latency["patches"][0]["value"][0]["lead_time_to_ship_max_days"] == 3


def test_inventory_feed_has_one_patch_message_per_sku() -> None:
    feed = inventory_feed([level("A", 1), level("B", 0)], seller_id="AXXXXXXXXXXXX")
    assert feed["header"] == {"sellerId": "AXXXXXXXXXXXX", "version": "2.0", "issueLocale": "en_US"}
    assert [(m["messageId"], m["sku"], m["operationType"]) for m in feed["messages"]] == [
        (1, "A", "PATCH"),
        (2, "B", "PATCH"),
    ]
    with pytest.raises(MappingError, match="each SKU once"):
        inventory_feed([level("A", 1), level("A", 2)], seller_id="S")


def test_writes_are_offered_to_tradewire_map() -> None:
    assert set(SPEC.writes) == {"shipment", "inventory"}
    raw = level().model_dump_json().encode()
    assert map_record("canonical", "inventory", raw, to="amazon")["patches"][0]["value"][0]["quantity"] == 10
    body = map_record("canonical", "shipment", shipment().model_dump_json().encode(), to="amazon")
    assert body["packageDetail"]["trackingNumber"] == "112345678"
