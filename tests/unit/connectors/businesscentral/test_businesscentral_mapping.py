"""Business Central mappings with the vendor fixtures, and through services.mapping.map_record."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bc_helpers import order, settings

from tradewire.canonical import FulfillmentStatus
from tradewire.connectors.businesscentral.mapping import (
    customer_number,
    customer_to_canonical,
    external_document_number,
    order_to_sales_order,
    sales_order_to_order,
    shipment_to_canonical,
)
from tradewire.errors import MappingError
from tradewire.services.mapping import map_record

FIXTURES = Path(__file__).parents[3] / "fixtures" / "vendor"


def fixture(name: str) -> dict[str, Any]:
    data = json.loads((FIXTURES / f"businesscentral_{name}.json").read_text())
    return data["response"]["body"] if "response" in data else data  # type: ignore[no-any-return]


def sales_order_payload() -> dict[str, Any]:
    header = fixture("salesOrder_update")
    line = fixture("salesOrderLine_get")
    return {**header, "salesOrderLines": [line]}


def test_sales_order_fixture_maps_to_a_canonical_order() -> None:
    result = sales_order_to_order(sales_order_payload(), client_id="c1", connection_id="bc1")
    assert result.source.system == "businesscentral"
    assert result.source.external_id == "b6f4017a-b749-ee11-ad0b-a1422c0f7f1f"
    assert result.number == "101005"
    assert result.currency == "GBP"
    [line] = result.lines
    assert (line.sku, line.quantity, line.unit_price, line.total) == (
        "1996-S",
        12,
        Decimal("1397.3"),
        Decimal("16767.6"),
    )
    assert result.tax_total == Decimal("1006.06")
    assert result.total == Decimal("17773.66")
    assert result.fulfillment_status is FulfillmentStatus.UNFULFILLED
    assert result.shipping_address is not None
    assert result.shipping_address.city == "Cambridge"


def test_sales_order_without_lines_or_with_fractional_quantity_is_refused() -> None:
    payload = fixture("salesOrder_update")
    with pytest.raises(MappingError, match=r"\$expand"):
        sales_order_to_order(payload, client_id="c1", connection_id="bc1")
    broken = sales_order_payload()
    broken["salesOrderLines"][0]["quantity"] = 1.5
    with pytest.raises(MappingError, match="whole"):
        sales_order_to_order(broken, client_id="c1", connection_id="bc1")


def test_customer_fixture_maps() -> None:
    result = customer_to_canonical(fixture("customer_get"), client_id="c1", connection_id="bc1")
    assert result.company == "Adatum Corporation"
    assert result.email == "robert.townes@contoso.com"
    assert result.default_address is not None
    assert result.default_address.region == "GA"


def test_shipment_maps_with_its_lines() -> None:
    payload = {"id": "s1", "number": "S-SHPT102001", "orderNumber": "101005", "externalDocumentNumber": "ABC",
               "shipmentDate": "2026-05-05", "salesShipmentLines": [
                   {"lineType": "Item", "lineObjectNumber": "1996-S", "quantity": 12, "description": "Board"},
                   {"lineType": "Comment", "description": "note"}]}  # fmt: skip
    result = shipment_to_canonical(payload, client_id="c1", connection_id="bc1")
    assert result.order_number == "101005"
    assert result.order_external_id == "ABC"
    assert [(ln.sku, ln.quantity) for ln in result.lines] == [("1996-S", 12)]
    with pytest.raises(MappingError, match="no shipped item lines"):
        shipment_to_canonical({**payload, "salesShipmentLines": []}, client_id="c1", connection_id="bc1")


def test_keys_fit_business_central_code_fields() -> None:
    assert external_document_number("2b6f0c1e-9d8a-4f3b-a2c1-7e6d5c4b3a21") == "2B6F0C1E9D8A4F3BA2C17E6D5C4B3A21"
    assert external_document_number("short-id") == "SHORT-ID"
    with pytest.raises(MappingError):
        external_document_number("x" * 36)
    assert len(customer_number("6d0f3b6a-1111-4222-8333-944455556666", "TW")) == 20


def test_order_body_round_trips_through_the_read_mapping() -> None:
    body = order_to_sales_order(order(shipping="4.95", extra_line=True), customer_ref="cust-1",
                                item_refs={"cap-navy": "item-1", "SOCKS-3PK": "item-2"}, settings=settings())  # fmt: skip
    assert body["currencyCode"] == ""
    assert body["customerId"] == "cust-1"
    lines = [{**ln, "lineObjectNumber": {"item-1": "CAP-NAVY", "item-2": "SOCKS-3PK"}.get(ln.get("itemId", ""), ln.get("lineObjectNumber"))}
             for ln in body["salesOrderLines"]]  # fmt: skip
    back = sales_order_to_order({**body, "id": "so-1", "number": "S1", "currencyCode": "USD", "salesOrderLines": lines},
                                client_id="c1", connection_id="bc1")  # fmt: skip
    assert back.total == order(shipping="4.95", extra_line=True).total
    assert back.shipping_total == Decimal("4.95")


def test_map_record_reads_and_writes_business_central() -> None:
    raw = json.dumps(sales_order_payload()).encode()
    canonical = map_record("businesscentral", "sales_order", raw)
    assert canonical["source"]["system"] == "businesscentral"
    body = map_record("businesscentral", "sales_order", raw, to="businesscentral")
    assert body["salesOrderLines"][0]["itemId"] == "<item 1996-S>"
    assert body["customerId"].startswith("<customer")
    customer = map_record(
        "businesscentral", "customer", json.dumps(fixture("customer_get")).encode(), to="businesscentral"
    )
    assert customer["number"].startswith("TW")
    assert customer["displayName"] == "Adatum Corporation"
    with pytest.raises(MappingError):
        map_record("businesscentral", "sales_order", b'{"id": "x"}')


def test_a_shopify_order_previews_as_a_business_central_deep_insert() -> None:
    listing = json.loads((FIXTURES / "shopify_rest_orders_list.json").read_text())
    raw = json.dumps(listing["response_body"]["orders"][0]).encode()
    body = map_record("shopify", "order", raw, to="businesscentral")
    canonical = map_record("shopify", "order", raw)
    assert body["externalDocumentNumber"] == external_document_number(canonical["id"])
    assert [ln["itemId"] for ln in body["salesOrderLines"] if ln["lineType"] == "Item"] == [
        f"<item {line['sku']}>" for line in canonical["lines"] if line["quantity"] > 0
    ]
    line_discounts = sum(Decimal(ln["discount"]) for ln in canonical["lines"])
    assert Decimal(str(body["discountAmount"])) == Decimal(canonical["discount_total"]) - line_discounts
