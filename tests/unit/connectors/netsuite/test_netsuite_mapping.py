"""Canonical → NetSuite bodies (and back) as a person reading the sales order would check them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from tradewire.canonical import Address, Buyer, Customer, ExternalRef, Order, OrderLine
from tradewire.connectors.netsuite.mapping import (
    cancel_sales_order_body,
    customer_to_netsuite,
    order_to_sales_order,
    sales_order_to_canonical_lines,
)
from tradewire.connectors.netsuite.settings import NetSuiteSettings
from tradewire.errors import MappingError

ITEMS = {"TEE-M": "501", "CAP": "502"}
SKUS = {v: k for k, v in ITEMS.items()}


def make_order(**changes: Any) -> Order:
    lines = [
        OrderLine(line_id="L1", sku="TEE-M", title="Tee M", quantity=2, unit_price=Decimal("25.00"),
                  discount=Decimal("5.00"), tax=Decimal("3.60"), total=Decimal("45.00")),
        OrderLine(line_id="L2", sku="CAP", title="Cap", quantity=1, unit_price=Decimal("19.50"),
                  tax=Decimal("1.56"), total=Decimal("19.50")),
    ]  # fmt: skip
    fields: dict[str, Any] = {
        "id": "8c1d2a4e-5b6f-4c7d-8e9f-0a1b2c3d4e5f",
        "client_id": "client-1",
        "source": ExternalRef(system="shop", connection_id="c1", object="order", external_id="1001"),
        "number": "#1001",
        "placed_at": datetime(2026, 3, 1, 21, 30, tzinfo=timezone(timedelta(hours=-5))),
        "currency": "USD",
        "customer": Buyer(email="ann@example.com", first_name="Ann", last_name="Lee"),
        "shipping_address": Address(name="Ann Lee", line1="1 Main St", line2="Apt 2", city="Austin", region="TX",
                                    postal_code="78701", country_code="US", phone="+1 512 555 0100"),
        "lines": lines,
        "subtotal": Decimal("69.50"),
        "discount_total": Decimal("15.00"),
        "shipping_total": Decimal("4.99"),
        "tax_total": Decimal("5.16"),
        "total": Decimal("64.65"),
        "note": "Leave at the door",
    }  # fmt: skip
    fields.update(changes)
    return Order(**fields)


def test_sales_order_carries_what_the_accountant_looks_for(settings: NetSuiteSettings) -> None:
    body = order_to_sales_order(make_order(), customer_ref="100", item_refs=ITEMS, settings=settings)
    assert body["externalId"] == "8c1d2a4e-5b6f-4c7d-8e9f-0a1b2c3d4e5f"
    assert body["entity"] == {"id": "100"}
    assert body["otherRefNum"] == "#1001"
    assert body["tranDate"] == "2026-03-02"  # 21:30 in Texas is already the 2nd in UTC
    assert body["memo"] == "Leave at the door"
    assert body["shippingCost"] == 4.99
    lines = body["item"]["items"]
    assert lines[0] == {"item": {"id": "501"}, "quantity": 2, "rate": 25.0, "amount": 45.0, "description": "Tee M"}
    assert lines[1]["item"] == {"id": "502"}
    assert lines[1]["amount"] == 19.5
    # 15.00 of discounts, 5.00 of them on line 1: the other 10.00 goes on the discount item.
    assert body["discountItem"] == {"id": "900"}
    assert body["discountRate"] == -10.0
    # Tax rides on the tax item as its own line.
    assert lines[2] == {"item": {"id": "901"}, "quantity": 1, "rate": 5.16, "amount": 5.16, "description": "Tax"}
    assert body["shippingAddress"] == {
        "addressee": "Ann Lee", "addr1": "1 Main St", "addr2": "Apt 2", "city": "Austin", "state": "TX",
        "zip": "78701", "country": {"id": "US"}, "addrPhone": "+1 512 555 0100",
    }  # fmt: skip


def test_netsuite_total_equals_the_channel_total(settings: NetSuiteSettings) -> None:
    order = make_order()
    body = order_to_sales_order(order, customer_ref="100", item_refs=ITEMS, settings=settings)
    netsuite_total = sum(Decimal(str(line["amount"])) for line in body["item"]["items"])
    netsuite_total += Decimal(str(body["discountRate"])) + Decimal(str(body["shippingCost"]))
    assert netsuite_total == order.total


def test_missing_item_names_the_sku(settings: NetSuiteSettings) -> None:
    with pytest.raises(MappingError) as info:
        order_to_sales_order(make_order(), customer_ref="100", item_refs={"CAP": "502"}, settings=settings)
    assert str(info.value) == "SKU TEE-M is not an item in NetSuite: create it or map it"
    with pytest.raises(MappingError, match="SKUs CAP, TEE-M are not items in NetSuite"):
        order_to_sales_order(make_order(), customer_ref="100", item_refs={}, settings=settings)


def test_line_without_sku_is_refused_with_its_line_id(settings: NetSuiteSettings) -> None:
    order = make_order()
    order.lines[1] = order.lines[1].model_copy(update={"sku": None})
    with pytest.raises(MappingError, match="line\\(s\\) L2 have no SKU"):
        order_to_sales_order(order, customer_ref="100", item_refs=ITEMS, settings=settings)


def test_order_discount_without_discount_item_is_refused_not_dropped() -> None:
    bare = NetSuiteSettings(account_id="1234567", subsidiary_id="1")
    with pytest.raises(MappingError, match=r"order-level discount of 10\.00 USD"):
        order_to_sales_order(make_order(), customer_ref="100", item_refs=ITEMS, settings=bare)


def test_without_tax_item_tax_is_left_to_netsuite_and_prices_with_tax_add_nothing(settings: NetSuiteSettings) -> None:
    no_tax_item = NetSuiteSettings(account_id="1234567", subsidiary_id="1", discount_item_id="900")
    body = order_to_sales_order(make_order(), customer_ref="1", item_refs=ITEMS, settings=no_tax_item)
    assert [line["item"]["id"] for line in body["item"]["items"]] == ["501", "502"]
    included = make_order(taxes_included=True, total=Decimal("59.49"))
    body = order_to_sales_order(included, customer_ref="1", item_refs=ITEMS, settings=settings)
    assert [line["item"]["id"] for line in body["item"]["items"]] == ["501", "502"]


def test_currency_mapping_is_used_or_the_order_refused() -> None:
    mapped = NetSuiteSettings(account_id="1", subsidiary_id="1", discount_item_id="9", currency_ids={"usd": "1"})
    body = order_to_sales_order(make_order(), customer_ref="1", item_refs=ITEMS, settings=mapped)
    assert body["currency"] == {"id": "1"}
    euro_only = mapped.model_copy(update={"currency_ids": {"EUR": "2"}})
    with pytest.raises(MappingError, match="in USD, which has no NetSuite currency id"):
        order_to_sales_order(make_order(), customer_ref="1", item_refs=ITEMS, settings=euro_only)


def test_round_trip_keeps_lines_totals_and_number(settings: NetSuiteSettings) -> None:
    order = make_order()
    body = order_to_sales_order(order, customer_ref="100", item_refs=ITEMS, settings=settings)
    back = sales_order_to_canonical_lines(body, sku_by_item_id=SKUS, settings=settings)
    assert back.number == order.number
    assert back.external_id == order.id
    assert [(x.sku, x.title, x.quantity, x.unit_price, x.discount, x.total) for x in back.lines] == [
        (x.sku, x.title, x.quantity, x.unit_price, x.discount, x.total) for x in order.lines
    ]
    assert (back.subtotal, back.discount_total, back.shipping_total, back.tax_total, back.total) == (
        order.subtotal, order.discount_total, order.shipping_total, order.tax_total, order.total,
    )  # fmt: skip


def test_customer_person_company_and_guest(settings: NetSuiteSettings) -> None:
    person = Customer(
        id="3f1e2d3c-0000-4000-8000-000000000001", client_id="c", email="Ann@Example.com", first_name="Ann",
        last_name="Lee", company="Acme", phone="+1 555 0100",
        default_address=Address(line1="1 Main", city="Austin", country_code="us"),
    )  # fmt: skip
    body = customer_to_netsuite(person, settings)
    assert body["externalId"] == person.id
    assert (body["isPerson"], body["firstName"], body["lastName"], body["companyName"]) == (True, "Ann", "Lee", "Acme")
    assert body["email"] == "ann@example.com"
    assert body["subsidiary"] == {"id": "1"}
    book = body["addressBook"]["items"][0]
    assert book["defaultShipping"] is True
    assert book["addressBookAddress"]["country"] == {"id": "US"}

    company = customer_to_netsuite(Customer(id="c2", client_id="c", company="Acme Ltd"), settings)
    assert (company["isPerson"], company["companyName"]) == (False, "Acme Ltd")
    assert "lastName" not in company

    guest = customer_to_netsuite(Customer(id="c3", client_id="c", email="g@example.com"), settings)
    assert (guest["isPerson"], guest["lastName"]) == (True, "g@example.com")


def test_cancel_body_sets_status_cancelled() -> None:
    assert cancel_sales_order_body() == {"orderStatus": {"id": "C"}}


def test_reverse_mapping_refuses_unknown_items(settings: NetSuiteSettings) -> None:
    body = order_to_sales_order(make_order(), customer_ref="100", item_refs=ITEMS, settings=settings)
    with pytest.raises(MappingError, match="NetSuite item 502 on line 2 has no known SKU"):
        sales_order_to_canonical_lines(body, sku_by_item_id={"501": "TEE-M"}, settings=settings)
