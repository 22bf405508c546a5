"""ShipStation shipments back to Walmart: the same package by webhook twice and by poll is confirmed once.

A Walmart order goes into NetSuite (polled), is sent to the ShipStation sandbox as Tradewire's
``createorder`` body, and ships there in two labels. The SHIP_NOTIFY notification is delivered
twice through the real webhook receiver and the shipments poll reads the same labels again.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from fulfilment_support import Poll, import_order, line_statuses, serve_walmart, timeline, walmart_connection

from tradewire.canonical import Order
from tradewire.connectors.base.sandbox import LoopbackServer
from tradewire.connectors.shipstation.mapping import order_to_createorder
from tradewire.connectors.shipstation.sandbox import create_sandbox
from tradewire.runtime.store.port import RunState
from tradewire.runtime.store.port_facts import ExceptionFilter
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

if TYPE_CHECKING:
    from tests.integration.conftest import World

SHIPSTATION = {"api_key": "ss-" + secrets.token_hex(8), "api_secret": secrets.token_hex(16)}
TOKEN = secrets.token_urlsafe(24)


@pytest.fixture
def walmart_server() -> Iterator[LoopbackServer]:
    yield from serve_walmart()


@pytest.fixture
def shipstation_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer(create_sandbox(**SHIPSTATION)).start()
    server.app.state.shipstation.base_url = server.url
    yield server
    server.stop()


def shipstation_connection(world: World, server: LoopbackServer) -> str:
    box = SecretBox(world.settings.secret_key.get_secret_value())
    return world.store.create_connection(
        world.client_id,
        "shipstation",
        "ShipStation (sandbox)",
        {"base_url": server.url},
        box.seal({**SHIPSTATION, "webhook_token": TOKEN}),
    )


async def _ship_notify_twice_and_a_poll_confirm_each_label_once(
    world: World, walmart_server: LoopbackServer, shipstation_server: LoopbackServer
) -> None:
    walmart_id = walmart_connection(world, walmart_server, invoicing="never")
    shipstation_id = shipstation_connection(world, shipstation_server)
    poll = Poll(world)
    async with world.pipeline() as (ingest, _):
        po, order_id, lines = await import_order(world, walmart_server, poll, walmart_id)
        with client_scope(world.client_id):
            stored = world.store.get_object("order", order_id)
        assert stored is not None
        order = Order.model_validate(stored.body)
        warehouse = shipstation_server.app.state.shipstation
        warehouse.upsert_order(order_to_createorder(order))
        labels = warehouse.ship_order(
            order.id, [[(line.sku, line.quantity)] for line in order.lines], carrier_code="ups", notify=False
        )
        url = f"{shipstation_server.url}/shipments?batchId={labels[0]['batchNumber']}&includeShipmentItems=True"
        body = json.dumps({"resource_url": url, "resource_type": "SHIP_NOTIFY"}).encode()
        headers = {"Content-Type": "application/json"}
        first = await ingest.receive("shipstation", shipstation_id, body, headers, {"token": TOKEN})
        again = await ingest.receive("shipstation", shipstation_id, body, headers, {"token": TOKEN})
        assert (first.status, again.status) == ("stored", "duplicate"), (first, again)
        await world.wait_for(lambda: len(timeline(world, order_id, "order.fulfilled")) == 1, "the order fulfilled")
        report = await poll(shipstation_id, "shipments")
        assert report.stored == 2, "the poll stores each label as its own message"
        runs = await world.settle(5)

    assert all(r.state is RunState.SUCCEEDED for r in runs), [(r.flow, r.last_error) for r in runs]
    shipment_runs = [r for r in runs if r.flow == "shipment_to_channel"]
    assert len(shipment_runs) == 3, "one run for the notification, one per polled label"
    confirmed = timeline(world, order_id, "shipment.confirmed")
    assert sorted(e.detail["tracking_number"] for e in confirmed) == sorted(s["trackingNumber"] for s in labels)
    statuses = line_statuses(walmart_server, po)
    for line, label in zip(lines, labels, strict=True):
        assert statuses[line["lineNumber"]] == [
            ("Shipped", line["orderLineQuantity"]["amount"], label["trackingNumber"])
        ]


def test_ship_notify_twice_and_a_poll_confirm_each_label_once(
    world: World, walmart_server: LoopbackServer, shipstation_server: LoopbackServer
) -> None:
    asyncio.run(_ship_notify_twice_and_a_poll_confirm_each_label_once(world, walmart_server, shipstation_server))


async def _shipped_twice_from_two_warehouses(
    world: World, walmart_server: LoopbackServer, shipstation_server: LoopbackServer
) -> None:
    walmart_id = walmart_connection(world, walmart_server, invoicing="never")
    shipstation_id = shipstation_connection(world, shipstation_server)
    poll = Poll(world)
    async with world.pipeline():
        po, order_id, lines = await import_order(world, walmart_server, poll, walmart_id)
        world.ns.ship(f"eid:{order_id}", [{"tracking_number": "1ZNETSUITE", "carrier": "UPS", "lines": []}])
        await poll(world.netsuite_id, "item_fulfillments")
        await world.wait_for(lambda: len(timeline(world, order_id, "order.fulfilled")) == 1, "the order fulfilled")
        with client_scope(world.client_id):
            stored = world.store.get_object("order", order_id)
        assert stored is not None
        warehouse = shipstation_server.app.state.shipstation
        warehouse.upsert_order(order_to_createorder(Order.model_validate(stored.body)))
        warehouse.ship_order(order_id, None, carrier_code="ups", notify=False)  # the 3PL ships it all again
        await poll(shipstation_id, "shipments")
        runs = await world.settle(4)

    (dead,) = [r for r in runs if r.state is RunState.DEAD]
    assert dead.flow == "shipment_to_channel"
    assert "has only 0 open" in (dead.last_error or "")
    with client_scope(world.client_id):
        (problem,) = world.store.list_exceptions(ExceptionFilter(kind="over_shipment"))
    assert problem.canonical_id == order_id
    for line in lines:  # Walmart saw the NetSuite package only
        assert line_statuses(walmart_server, po)[line["lineNumber"]] == [
            ("Shipped", line["orderLineQuantity"]["amount"], "1ZNETSUITE")
        ]


def test_an_order_shipped_again_by_another_warehouse_is_an_over_shipment_not_a_second_confirmation(
    world: World, walmart_server: LoopbackServer, shipstation_server: LoopbackServer
) -> None:
    asyncio.run(_shipped_twice_from_two_warehouses(world, walmart_server, shipstation_server))


async def _a_batch_cut_short_by_faults(
    world: World, walmart_server: LoopbackServer, shipstation_server: LoopbackServer
) -> None:
    walmart_id = walmart_connection(world, walmart_server, invoicing="never")
    shipstation_id = shipstation_connection(world, shipstation_server)
    poll = Poll(world)
    async with world.pipeline() as (ingest, _):
        po, order_id, lines = await import_order(world, walmart_server, poll, walmart_id)
        with client_scope(world.client_id):
            stored = world.store.get_object("order", order_id)
        assert stored is not None
        order = Order.model_validate(stored.body)
        warehouse = shipstation_server.app.state.shipstation
        warehouse.upsert_order(order_to_createorder(order))
        labels = warehouse.ship_order(
            order.id, [[(line.sku, line.quantity)] for line in order.lines], carrier_code="ups", notify=False
        )
        walmart_server.app.state.walmart.set_knobs(fail_rate=0.5, retry_after_seconds=0.05)
        url = f"{shipstation_server.url}/shipments?batchId={labels[0]['batchNumber']}&includeShipmentItems=True"
        body = json.dumps({"resource_url": url, "resource_type": "SHIP_NOTIFY"}).encode()
        await ingest.receive(
            "shipstation", shipstation_id, body, {"Content-Type": "application/json"}, {"token": TOKEN}
        )
        await world.wait_for(lambda: len(timeline(world, order_id, "order.fulfilled")) == 1, "the order fulfilled")
        runs = await world.settle(3)

    (batch,) = [r for r in runs if r.flow == "shipment_to_channel"]
    assert batch.state is RunState.SUCCEEDED, batch.last_error
    assert batch.failures > 0, "the faults never cut the batch short"
    confirmed = timeline(world, order_id, "shipment.confirmed")
    assert sorted(e.detail["tracking_number"] for e in confirmed) == sorted(s["trackingNumber"] for s in labels)
    assert len(timeline(world, order_id, "order.fulfilled")) == 1
    for line, label in zip(lines, labels, strict=True):
        assert line_statuses(walmart_server, po)[line["lineNumber"]] == [
            ("Shipped", line["orderLineQuantity"]["amount"], label["trackingNumber"])
        ]


def test_a_batch_cut_short_by_walmart_faults_confirms_each_label_once_and_keeps_the_timeline_whole(
    world: World, walmart_server: LoopbackServer, shipstation_server: LoopbackServer
) -> None:
    asyncio.run(_a_batch_cut_short_by_faults(world, walmart_server, shipstation_server))
