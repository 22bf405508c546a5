"""NetSuite in fulfilment, through SPEC, against the sandbox: item fulfilments polled back, invoices once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tradewire.canonical import Customer, ExternalRef, Order, OrderLine, Shipment
from tradewire.connectors import get_spec
from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.connectors.base.spec import Connection, PolledRecord
from tradewire.connectors.netsuite.fulfilment_mapping import item_fulfillment_to_canonical
from tradewire.connectors.netsuite.sandbox_store import SandboxError
from tradewire.errors import MappingError, VendorRejected

MakeApp = Callable[..., Starlette]
CREDS = {"consumer_key": "ck-test", "consumer_secret": "cs-test", "token_id": "tok-test", "token_secret": "ts-test"}
CONNECTION = Connection(id="conn-ns", client_id="c1", system="netsuite",
                        settings={"account_id": "1234567_SB1", "subsidiary_id": "1"}, secrets=CREDS)  # fmt: skip
SPEC = get_spec("netsuite")


def order() -> Order:
    lines = [
        OrderLine(line_id="1", sku="CAP-NAVY", quantity=2, unit_price=Decimal("19.50"), total=Decimal("39.00")),
        OrderLine(line_id="2", sku="SOCKS-3PK", quantity=1, unit_price=Decimal("25.00"), total=Decimal("25.00")),
    ]
    return Order(
        id="0f0e0d0c-aaaa-4bbb-8ccc-000000002002", client_id="c1", number="2002", currency="USD",
        source=ExternalRef(system="walmart", connection_id="wm", object="order", external_id="PO-2002"),
        placed_at=datetime(2026, 3, 1, 12, tzinfo=UTC), lines=lines, subtotal=Decimal("64.00"),
        total=Decimal("64.00"),
    )  # fmt: skip


def export(app: Starlette) -> str:
    """The order as a NetSuite sales order (through the order sink); its internal id."""

    async def go() -> str:
        assert SPEC.order_sink is not None
        sink = SPEC.order_sink(CONNECTION, UnlimitedBudget(), httpx.ASGITransport(app=app))
        try:
            customer = Customer(id="6d0f3b6a-1111-4222-8333-944455556666", client_id="c1", last_name="Lee")
            ref = await sink.upsert_customer(customer)
            items = await sink.resolve_items(["CAP-NAVY", "SOCKS-3PK"])
            return await sink.upsert_sales_order(order(), customer_ref=ref, item_refs=items)
        finally:
            await sink.aclose()

    return asyncio.run(go())


def poll(app: Starlette, cursor: str | None) -> tuple[list[PolledRecord], str | None]:
    [stream] = [s for s in SPEC.pollers if s.name == "item_fulfillments"]

    async def go() -> tuple[list[PolledRecord], str | None]:
        poller = stream.open(CONNECTION, UnlimitedBudget(), httpx.ASGITransport(app=app))
        records: list[PolledRecord] = []
        newest = cursor
        try:
            async for page in poller.pages(cursor, now=datetime.now(UTC)):
                records.extend(page.records)
                newest = page.cursor or newest
        finally:
            await poller.aclose()
        return records, newest

    return asyncio.run(go())


def shipments(records: list[PolledRecord]) -> list[Shipment]:
    source = SPEC.sources["shipment"]
    return [source.to_canonical(_json(r.body), client_id="c1", connection_id="conn-ns") for r in records]  # type: ignore[misc]


def _json(body: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(body)
    return data


def test_two_packages_are_two_shipments_polled_once_each(make_app: MakeApp) -> None:
    app = make_app()
    so = export(app)
    app.state.netsuite.ship(so, [
        {"tracking_number": "1ZA", "carrier": "UPS Ground", "lines": [{"sku": "CAP-NAVY", "quantity": 1}]},
        {"tracking_number": "1ZB", "carrier": "UPS Ground", "lines": [{"sku": "CAP-NAVY", "quantity": 1},
                                                                      {"sku": "SOCKS-3PK", "quantity": 1}]},
    ])  # fmt: skip
    records, cursor = poll(app, None)
    mapped = shipments(records)
    assert [(s.tracking_number, s.carrier, [(x.sku, x.quantity) for x in s.lines]) for s in mapped] == [
        ("1ZA", "UPS", [("CAP-NAVY", 1)]),
        ("1ZB", "UPS", [("CAP-NAVY", 1), ("SOCKS-3PK", 1)]),
    ]
    assert {s.order_external_id for s in mapped} == {so}
    assert {r.event.event_type for r in records} == {"shipment.created"}
    assert {r.event.ordering_key for r in records} == {f"netsuite:conn-ns:order:{so}"}, "one order, one key"
    again, _ = poll(app, cursor)
    assert {r.event.idempotency_key for r in again} <= {r.event.idempotency_key for r in records}, "same keys"
    assert app.state.netsuite.record("salesOrder", so)["orderStatus"]["id"] == "F"


def test_the_sandbox_refuses_to_fulfil_more_than_is_open(make_app: MakeApp) -> None:
    app = make_app()
    so = export(app)
    app.state.netsuite.ship(so, [{"tracking_number": "1Z1", "lines": [{"sku": "CAP-NAVY", "quantity": 2}]}])
    with pytest.raises(SandboxError, match=r"remaining quantity \(0\)"):
        app.state.netsuite.ship(so, [{"tracking_number": "1Z2", "lines": [{"sku": "CAP-NAVY", "quantity": 1}]}])


def test_an_order_is_invoiced_once_whatever_the_repeats(make_app: MakeApp) -> None:
    app = make_app()
    so = export(app)
    assert SPEC.invoice_sink is not None
    sink = SPEC.invoice_sink(CONNECTION, UnlimitedBudget(), httpx.ASGITransport(app=app))

    async def invoice() -> str:
        ref: str = await sink.invoice_order(order(), sales_order_ref=so)
        return ref

    with pytest.raises(VendorRejected, match="no billable lines"):
        asyncio.run(invoice())
    app.state.netsuite.ship(so, [{"tracking_number": "1Z1", "lines": []}])  # everything open, one box
    first = asyncio.run(invoice())
    assert asyncio.run(invoice()) == first
    assert list(app.state.netsuite.fulfilments.records["invoice"]) == [first]
    assert app.state.netsuite.record("salesOrder", so)["orderStatus"]["id"] == "G"
    asyncio.run(sink.aclose())


def test_a_fulfilment_without_its_sales_order_does_not_map() -> None:
    payload = {"id": "7", "createdDate": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
               "item": {"items": [{"item": {"refName": "CAP-NAVY"}, "quantity": 1}]}}  # fmt: skip
    with pytest.raises(MappingError, match="no createdFrom sales order"):
        item_fulfillment_to_canonical(payload, client_id="c1", connection_id="ns")


def test_the_admin_ship_endpoint_ships_partial_lines_in_packages_and_explains_refusals(make_app: MakeApp) -> None:
    app = make_app()
    so = export(app)

    async def ship(body: dict[str, Any]) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ns") as http:
            return await http.post("/_sandbox/ship", json=body)

    partial = {
        "sales_order": so,
        "packages": [{"tracking_number": "1ZP", "lines": [{"sku": "CAP-NAVY", "quantity": 1}]}],
    }
    answer = asyncio.run(ship(partial))
    assert answer.status_code == 200
    (fulfilment,) = answer.json()["item_fulfillments"]
    record = app.state.netsuite.fulfilments.get("itemFulfillment", fulfilment)
    assert [(x["item"]["refName"], x["quantity"]) for x in record["item"]["items"]] == [("CAP-NAVY", 1)]
    assert record["package"]["items"] == [{"packageTrackingNumber": "1ZP"}]
    assert app.state.netsuite.record("salesOrder", so)["orderStatus"]["id"] == "D", "partially fulfilled"
    too_many = {
        "sales_order": so,
        "packages": [{"tracking_number": "1ZQ", "lines": [{"sku": "CAP-NAVY", "quantity": 5}]}],
    }
    refused = asyncio.run(ship(too_many))
    assert refused.status_code == 400
    assert "remaining quantity (1)" in refused.json()["error"]
    assert asyncio.run(ship({"packages": []})).status_code == 400
