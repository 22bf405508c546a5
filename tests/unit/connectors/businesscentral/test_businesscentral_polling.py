"""Polling salesShipments by lastModifiedDateTime: monotonic cursor, overlap window, restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from bc_helpers import CUSTOMER, connection, make_app, order, sink_for

from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.connectors.base.spec import PolledPage
from tradewire.connectors.businesscentral import SPEC
from tradewire.connectors.businesscentral.mapping import shipment_to_canonical


def _ship_orders(app, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    async def go() -> list[str]:
        sink = sink_for(app)
        try:
            customer = await sink.upsert_customer(CUSTOMER)
            items = await sink.resolve_items(["cap-navy"])
            refs = []
            for n in range(count):
                the_order = order(f"#{n}", order_id=f"00000000-0000-4000-8000-00000000000{n}")
                refs.append(await sink.upsert_sales_order(the_order, customer_ref=customer, item_refs=items))
            return refs
        finally:
            await sink.aclose()

    refs = asyncio.run(go())
    return [app.state.businesscentral.ship_and_invoice(ref)[0] for ref in refs]


async def _poll(app, cursor: str | None, page_size: int = 2) -> list[PolledPage]:  # type: ignore[no-untyped-def]
    stream = next(s for s in SPEC.pollers if s.name == "shipments")
    poller = stream.open(connection(page_size=page_size), UnlimitedBudget(), httpx.ASGITransport(app=app))
    try:
        return [page async for page in poller.pages(cursor, now=datetime.now(UTC))]
    finally:
        await poller.aclose()


def test_shipments_poll_page_by_page_with_a_monotonic_cursor() -> None:
    app = make_app()
    shipped = _ship_orders(app, 5)
    pages = asyncio.run(_poll(app, None))
    assert [len(p.records) for p in pages] == [2, 2, 1]
    cursors = [p.cursor for p in pages]
    assert cursors == sorted(cursors)
    assert all(cursors)
    ids = [r.event.external_id for p in pages for r in p.records]
    assert sorted(ids) == sorted(shipped)
    assert len(set(ids)) == len(ids)
    first = pages[0].records[0]
    assert first.event.event_type == "shipment.updated"
    shipment = shipment_to_canonical(__import__("json").loads(first.body), client_id="c1", connection_id="conn-bc")
    # an order's shipments share one key, so they apply in order
    assert first.event.ordering_key == f"shipment:conn-bc:order:{shipment.order_number}"
    assert shipment.lines[0].sku == "CAP-NAVY"
    assert shipment.order_external_id


def test_restart_from_the_cursor_rereads_only_the_overlap_with_the_same_keys() -> None:
    app = make_app()
    _ship_orders(app, 3)
    pages = asyncio.run(_poll(app, None))
    keys = {r.event.idempotency_key for p in pages for r in p.records}
    again = asyncio.run(_poll(app, pages[-1].cursor))
    assert {r.event.idempotency_key for p in again for r in p.records} <= keys  # overlap: same keys, stored once
    far = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert [r for p in asyncio.run(_poll(app, far)) for r in p.records] == []


def test_sales_orders_stream_exists() -> None:
    assert {s.name for s in SPEC.pollers} == {"shipments", "sales_orders", "inventory"}
