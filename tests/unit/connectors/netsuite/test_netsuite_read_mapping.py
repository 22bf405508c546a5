"""NetSuite sales order (as the REST API returns it) → canonical order (``tradewire map netsuite sales_order``)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest

from tradewire.canonical import OrderStatus
from tradewire.connectors.netsuite.mapping import sales_order_to_canonical
from tradewire.errors import MappingError
from tradewire.services.mapping import map_record

# A salesOrder read with expandSubResources=true, in the shape SuiteTalk REST returns it:
# references carry id and refName, sublists are {"items": [...]} with links.
READ_BACK: dict[str, Any] = {
    "links": [{"rel": "self", "href": "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/record/v1/salesOrder/7301"}],
    "id": "7301",
    "externalId": "8c1d2a4e-5b6f-4c7d-8e9f-0a1b2c3d4e5f",
    "tranId": "SO-10442",
    "tranDate": "2026-03-02",
    "createdDate": "2026-03-02T02:31:07Z",
    "otherRefNum": "#1001",
    "email": "Ann@Example.com",
    "entity": {"id": "912", "refName": "Ann Lee"},
    "currency": {"id": "1", "refName": "USD"},
    "orderStatus": {"id": "B", "refName": "Pending Fulfillment"},
    "memo": "Leave at the door",
    "shippingCost": 7.5,
    "taxTotal": 5.16,
    "discountItem": {"id": "77", "refName": "ORDER-DISCOUNT"},
    "discountRate": -4.0,
    "shippingAddress": {"addressee": "Ann Lee", "addr1": "1 Main St", "addr2": "Apt 2", "city": "Austin",
                        "state": "TX", "zip": "78701", "country": {"id": "US", "refName": "United States"}},
    "item": {
        "links": [],
        "items": [
            {"links": [], "line": 1, "item": {"id": "501", "refName": "TEE-M"}, "quantity": 2.0, "rate": 25.0,
             "amount": 45.0, "description": "Tee M"},
            {"links": [], "line": 2, "item": {"id": "502", "refName": "CAP"}, "quantity": 1.0, "rate": 19.5,
             "amount": 19.5, "description": "Cap"},
        ],
    },
}  # fmt: skip


def test_a_read_back_sales_order_becomes_the_order_a_person_sees_in_netsuite() -> None:
    order = sales_order_to_canonical(READ_BACK, client_id="c1", connection_id="ns1")
    assert order.number == "SO-10442"
    assert order.source.external_id == "7301"
    assert order.source.object == "sales_order"
    assert [(line.sku, line.quantity, line.unit_price, line.discount, line.total) for line in order.lines] == [
        ("TEE-M", 2, Decimal("25.0"), Decimal("5.0"), Decimal("45.0")),
        ("CAP", 1, Decimal("19.5"), Decimal("0.0"), Decimal("19.5")),
    ]
    assert order.subtotal == Decimal("69.5")
    assert order.discount_total == Decimal("9.0"), "line discount 5 + order discount 4"
    assert order.tax_total == Decimal("5.16")
    assert order.shipping_total == Decimal("7.5")
    assert order.total == Decimal("73.16")
    assert order.currency == "USD"
    assert order.customer.email == "ann@example.com"
    assert order.shipping_address is not None
    assert order.shipping_address.country_code == "US"
    assert order.placed_at.isoformat() == "2026-03-02T02:31:07+00:00"
    assert order.status is OrderStatus.OPEN


@pytest.mark.parametrize(("status", "expected"), [("C", OrderStatus.CANCELLED), ("H", OrderStatus.CLOSED)])
def test_cancelled_and_closed_statuses(status: str, expected: OrderStatus) -> None:
    payload = copy.deepcopy(READ_BACK) | {"orderStatus": {"id": status}}
    assert sales_order_to_canonical(payload, client_id="c1", connection_id="ns1").status is expected


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": None}, "no internal id"),
        ({"item": {"items": []}}, "no item lines"),
        ({"currency": {"id": "1", "refName": "US Dollar"}}, "not an ISO code"),
        ({"createdDate": "yesterday", "tranDate": "soon"}, "neither createdDate nor a valid tranDate"),
        ({"shippingCost": "lots"}, "shippingCost"),
    ],
)
def test_bad_records_say_what_is_wrong(change: dict[str, Any], reason: str) -> None:
    payload = copy.deepcopy(READ_BACK) | change
    with pytest.raises(MappingError, match=reason):
        sales_order_to_canonical(payload, client_id="c1", connection_id="ns1")


def test_the_cli_mapping_reads_it_and_previews_the_channel_body() -> None:
    raw = json.dumps(READ_BACK).encode()
    canonical = map_record("netsuite", "sales_order", raw)
    assert canonical["number"] == "SO-10442"
    assert canonical["total"] == "73.16"
    shopify_body = map_record("netsuite", "sales_order", raw, to="shopify")
    assert shopify_body["line_items"][0]["sku"] == "TEE-M"
    back = map_record("canonical", "order", json.dumps(canonical).encode(), to="netsuite")
    assert back["otherRefNum"] == "SO-10442"
