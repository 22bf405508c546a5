"""Pure mappings: ShipStation shipment → canonical Shipment, canonical Order ⇄ createorder body."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from shipstation_helpers import sample_order

from tradewire.canonical import FinancialStatus, OrderStatus, ShipmentStatus
from tradewire.connectors.shipstation.mapping import (
    order_status_for,
    order_to_canonical,
    order_to_createorder,
    shipment_to_canonical,
)
from tradewire.errors import MappingError
from tradewire.services.mapping import map_record

EXAMPLE = Path(__file__).parent / "data" / "shipment_v1_docs_example.json"
OUR_KEY = "2b6f0c1e-9d8a-4f3b-a2c1-7e6d5c4b3a21"


def example(**changes: Any) -> dict[str, Any]:
    payload = json.loads(EXAMPLE.read_text())
    payload.pop("_note")
    payload.update(changes)
    return payload


def test_the_documented_shipment_maps_to_a_canonical_shipment() -> None:
    shipment = shipment_to_canonical(example(), client_id="client-1", connection_id="conn-ss")
    assert shipment.order_number == "100038-1"
    assert shipment.order_external_id is None  # a store's orderKey, not one Tradewire made
    assert shipment.source.external_id == "33974374"
    assert (shipment.carrier, shipment.service, shipment.tracking_number) == (
        "stamps_com",
        "usps_first_class_mail",
        "9400111899561704681189",
    )
    # shipDate is a bare day; createDate falls on it, so it is the time (06:51 PDT = 13:51 UTC).
    assert shipment.shipped_at == datetime(2014, 10, 3, 13, 51, 33, 627000, tzinfo=UTC)
    assert [(line.sku, line.quantity, line.order_line_id, line.title) for line in shipment.lines] == [
        ("ABC123", 2, "vd08-MSLbtx", "Test item #1")
    ]
    assert shipment.ship_to is not None
    assert (shipment.ship_to.name, shipment.ship_to.line1, shipment.ship_to.line2, shipment.ship_to.region) == (
        "Yoda",
        "12223 LOWDEN LN",
        None,
        "TX",
    )
    assert (shipment.shipping_cost, shipment.currency) == (Decimal("1.93"), "USD")
    assert shipment.weight_grams == Decimal("28.35")
    assert shipment.status is ShipmentStatus.SHIPPED


def test_our_order_key_becomes_the_order_external_id_and_ids_are_stable() -> None:
    one = shipment_to_canonical(example(orderKey=OUR_KEY), client_id="c", connection_id="k")
    two = shipment_to_canonical(example(orderKey=OUR_KEY), client_id="c", connection_id="k")
    assert one.order_external_id == OUR_KEY
    assert one.id == two.id
    assert one.id != shipment_to_canonical(example(shipmentId=1), client_id="c", connection_id="k").id


def test_a_voided_label_is_a_voided_shipment() -> None:
    voided = shipment_to_canonical(
        example(voided=True, voidDate="2014-10-04T09:00:00.0000000"), client_id="c", connection_id="k"
    )
    assert voided.status is ShipmentStatus.VOIDED


def test_a_ship_date_on_another_day_than_the_label_is_midnight_pacific() -> None:
    shipment = shipment_to_canonical(example(shipDate="2014-10-06"), client_id="c", connection_id="k")
    assert shipment.shipped_at == datetime(2014, 10, 6, 7, 0, tzinfo=UTC)


def test_no_cost_means_no_currency() -> None:
    shipment = shipment_to_canonical(example(shipmentCost=None), client_id="c", connection_id="k")
    assert (shipment.shipping_cost, shipment.currency) == (None, None)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"shipmentItems": None}, "includeShipmentItems=true"),
        ({"shipmentItems": []}, "no item with a positive quantity"),
        ({"orderNumber": None}, "no orderNumber"),
        ({"createDate": "03/10/2014"}, "createDate '03/10/2014' is not a ShipStation date-time"),
        ({"shipmentId": "abc"}, "shipmentId"),
        ({"shipTo": {"country": "USA"}}, "country_code must be ISO 3166-1 alpha-2"),
    ],
)
def test_bad_shipments_give_a_reason_a_person_can_act_on(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(MappingError, match=reason.replace("(", r"\(").replace("=", "=")):
        shipment_to_canonical(example(**changes), client_id="c", connection_id="k")


def test_a_canonical_order_becomes_a_createorder_body() -> None:
    body = order_to_createorder(sample_order(), store_id=12)
    assert body["orderKey"] == OUR_KEY
    assert body["orderNumber"] == "#5001"
    assert body["orderDate"] == "2026-05-04T03:30:00.0000000"  # 10:30 UTC is 03:30 PDT
    assert body["paymentDate"] == body["orderDate"]
    assert body["orderStatus"] == "awaiting_shipment"
    assert body["shipTo"] == {
        "name": "Ann Lee",
        "street1": "1 Main St",
        "city": "Austin",
        "state": "TX",
        "postalCode": "78701",
        "country": "US",
    }
    assert body["billTo"] == body["shipTo"]
    assert body["items"] == [
        {
            "lineItemKey": "a",
            "sku": "TSHIRT-BLK-M",
            "name": "T-shirt",
            "quantity": 3,
            "unitPrice": 25.0,
            "taxAmount": 0.0,
        },
        {"lineItemKey": "b", "sku": "SOCKS-3PK", "name": "Socks", "quantity": 1, "unitPrice": 12.0, "taxAmount": 0.0},
        {
            "lineItemKey": "tradewire-discount",
            "name": "Discount",
            "quantity": 1,
            "unitPrice": -10.0,
            "adjustment": True,
        },
    ]
    assert (body["amountPaid"], body["taxAmount"], body["shippingAmount"]) == (90.35, 6.4, 6.95)
    assert body["advancedOptions"] == {"source": "shopify", "customField1": "5001", "storeId": 12}
    assert json.loads(json.dumps(body)) == body


def test_order_statuses_follow_payment_and_cancellation() -> None:
    order = sample_order()
    assert (
        order_status_for(order.model_copy(update={"financial_status": FinancialStatus.PENDING})) == "awaiting_payment"
    )
    assert order_status_for(order.model_copy(update={"financial_status": FinancialStatus.REFUNDED})) == "cancelled"
    cancelled = order.model_copy(update={"status": OrderStatus.CANCELLED, "cancelled_at": order.placed_at})
    assert order_to_createorder(cancelled)["orderStatus"] == "cancelled"
    unpaid = order_to_createorder(order.model_copy(update={"financial_status": FinancialStatus.PENDING}))
    assert unpaid["amountPaid"] == 0.0
    assert "paymentDate" not in unpaid


def test_an_order_without_a_shipping_address_is_refused() -> None:
    with pytest.raises(MappingError, match="needs shipTo"):
        order_to_createorder(sample_order().model_copy(update={"shipping_address": None}))


def test_createorder_body_maps_back_to_the_same_order() -> None:
    order = sample_order()
    back = order_to_canonical(order_to_createorder(order), client_id="client-1", connection_id="conn-ss")
    assert back.id == order.id
    assert back.number == order.number
    assert back.placed_at == order.placed_at
    assert [(x.line_id, x.sku, x.quantity, x.unit_price) for x in back.lines] == [
        (x.line_id, x.sku, x.quantity, x.unit_price) for x in order.lines
    ]
    assert (back.subtotal, back.discount_total, back.shipping_total, back.tax_total, back.total) == (
        order.subtotal,
        order.discount_total,
        order.shipping_total,
        order.tax_total,
        order.total,
    )
    assert back.customer.email == "ann@example.com"


def test_a_shipstation_order_without_items_is_refused() -> None:
    with pytest.raises(MappingError, match="has no items"):
        order_to_canonical(
            {"orderId": 1, "orderNumber": "1", "orderStatus": "awaiting_shipment", "orderDate": "2026-01-01"},
            client_id="c",
            connection_id="k",
        )


def test_tradewire_map_reads_a_shipment_and_writes_an_order() -> None:
    mapped = map_record("shipstation", "shipment", EXAMPLE.read_bytes())
    assert mapped["order_number"] == "100038-1"
    assert mapped["lines"][0]["sku"] == "ABC123"
    body = map_record("canonical", "order", sample_order().model_dump_json().encode(), to="shipstation")
    assert body["orderKey"] == OUR_KEY
    with pytest.raises(MappingError, match="includeShipmentItems"):
        map_record("shipstation", "shipment", json.dumps(example(shipmentItems=None)).encode())


def test_a_notification_or_a_list_page_is_named_for_what_it_is() -> None:
    fixture = Path(__file__).parents[3] / "fixtures" / "vendor" / "shipstation_v1_order_notify_webhook_THIRDPARTY.json"
    with pytest.raises(MappingError, match="ORDER_NOTIFY notification, not a shipment: GET its resource_url"):
        map_record("shipstation", "shipment", fixture.read_bytes())
    page = json.dumps({"shipments": [example()], "total": 1, "page": 1, "pages": 1}).encode()
    with pytest.raises(MappingError, match="page of shipments; give one element"):
        map_record("shipstation", "shipment", page)
    with pytest.raises(MappingError, match="page of orders"):
        map_record("shipstation", "order", b'{"orders": [], "total": 0, "page": 1, "pages": 0}')


def test_an_order_in_another_currency_than_the_account_is_refused() -> None:
    euro = sample_order().model_copy(update={"currency": "EUR"})
    with pytest.raises(MappingError, match="in EUR but the ShipStation account works in USD"):
        order_to_createorder(euro, account_currency="usd")
    assert order_to_createorder(sample_order(), account_currency="USD")["orderKey"] == OUR_KEY


def test_tax_included_prices_send_no_extra_order_tax() -> None:
    order = sample_order().model_copy(update={"taxes_included": True, "total": Decimal("83.95")})
    body = order_to_createorder(order)
    assert body["taxAmount"] == 0.0
    assert body["amountPaid"] == 83.95
