"""An Amazon order shipped from NetSuite in two packages is confirmed on Amazon once per package.

Real parts: the Amazon (SP-API) and NetSuite sandboxes on 127.0.0.1, the real store (SQLite
file and PostgreSQL), the polling service and the worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from fulfilment_support import Poll, amazon_connection, new_amazon_order, serve_amazon, timeline

from tradewire.connectors.base.sandbox import LoopbackServer
from tradewire.runtime.store.port import RunState
from tradewire.tenancy.context import client_scope

if TYPE_CHECKING:
    from tests.integration.conftest import World


@pytest.fixture
def amazon_server() -> Iterator[LoopbackServer]:
    yield from serve_amazon()


async def _two_packages_are_two_confirmations(world: World, amazon_server: LoopbackServer) -> None:
    amazon_id = amazon_connection(world, amazon_server)
    seller = amazon_server.app.state.amazon
    poll = Poll(world)
    async with world.pipeline():
        order_id = new_amazon_order(world, amazon_server)
        await poll(amazon_id, "orders")
        await world.wait_for(lambda: any(so.other_ref_num == order_id for so in world.ns.sales_orders()),
                             "the sales order in NetSuite")  # fmt: skip
        await world.settle(2)
        with client_scope(world.client_id):
            (stored,) = world.store.find_objects("order", order_id)
        items = seller.items[order_id]
        packages = [
            {"tracking_number": f"1ZAMZ{n}", "carrier": "UPS",
             "lines": [{"sku": item["SellerSKU"], "quantity": item["QuantityOrdered"]}]}
            for n, item in enumerate(items)
        ]  # fmt: skip
        world.ns.ship(f"eid:{stored.canonical_id}", packages)
        await poll(world.netsuite_id, "item_fulfillments")
        await world.wait_for(lambda: len(timeline(world, stored.canonical_id, "order.invoiced")) == 1, "the invoice")
        runs = await world.settle(4)
        shipment_runs = [r.id for r in runs if r.flow == "shipment_to_channel"]
        with client_scope(world.client_id):
            world.store.replay(shipment_runs, None, datetime.now(UTC))
        runs = await world.settle(4)

    assert all(r.state is RunState.SUCCEEDED for r in runs), [(r.flow, r.last_error) for r in runs]
    assert len(seller.packages) == 2, "one confirmShipment per package, none repeated"
    assert {d["trackingNumber"] for d in seller.packages.values()} == {"1ZAMZ0", "1ZAMZ1"}
    assert all(i["QuantityShipped"] == i["QuantityOrdered"] for i in seller.items[order_id])
    assert seller.orders[order_id]["OrderStatus"] == "Shipped"
    assert len(timeline(world, stored.canonical_id, "shipment.confirmed")) == 2
    assert len(world.ns.fulfilments.records["invoice"]) == 1


def test_two_packages_are_two_confirmations_on_amazon(world: World, amazon_server: LoopbackServer) -> None:
    asyncio.run(_two_packages_are_two_confirmations(world, amazon_server))
