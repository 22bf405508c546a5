"""Fulfilment end to end: a Walmart order goes into NetSuite, ships in parts, is confirmed on Walmart, invoiced.

Real parts only: the Walmart and NetSuite sandboxes on 127.0.0.1, the real store (SQLite file
and PostgreSQL), the polling service reading both, and the worker running the flows.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import delete

from tradewire.connectors import get_spec
from tradewire.connectors.base.sandbox import LoopbackServer
from tradewire.connectors.walmart.sandbox import create_sandbox
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.port import RunState
from tradewire.runtime.store.port_facts import ExceptionFilter
from tradewire.runtime.store.tables import bindings, objects
from tradewire.services.demo_world import CATALOG
from tradewire.services.polling import PollingService, PollReport
from tradewire.tenancy.connections import ConnectionCache, resolve
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

if TYPE_CHECKING:
    from tests.integration.conftest import World

WALMART = {"client_id": "wm-" + secrets.token_hex(8), "client_secret": secrets.token_hex(24)}


@pytest.fixture
def walmart_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer(create_sandbox(**WALMART, catalog=CATALOG, seed=11)).start()
    yield server
    server.stop()


def walmart_connection(world: World, server: LoopbackServer, *, invoicing: str = "on_fulfilment") -> str:
    box = SecretBox(world.settings.secret_key.get_secret_value())
    world.store.set_connection_status(world.shopify_id, "paused", "these tests sell on Walmart")
    return world.store.create_connection(
        world.client_id,
        "walmart",
        "Walmart (sandbox)",
        {"base_url": server.url, "routes": {"erp": world.netsuite_id}, "invoicing": invoicing},
        box.seal(WALMART),
    )


class Poll:
    """Polls one stream of one connection, as the scheduler would."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.box = SecretBox(world.settings.secret_key.get_secret_value())
        self.service = PollingService(world.store, DbExecutor(threads=1), ConnectionCache(world.store, self.box, ttl=0))

    async def __call__(self, connection_id: str, stream_name: str) -> PollReport:
        record = self.world.store.get_connection(connection_id)
        spec = get_spec(record.system)
        stream = next(s for s in spec.pollers if s.name == stream_name)
        report = PollReport()
        await self.service.poll(resolve(record, self.box), spec, stream, report)
        assert report.failed == 0, report
        return report


def timeline(world: World, order_id: str, event: str) -> list[Any]:
    with client_scope(world.client_id):
        return [e for e in world.store.timeline("order", order_id) if e.event == event]


def line_statuses(server: LoopbackServer, po: str) -> dict[str, list[tuple[str, str, str | None]]]:
    """lineNumber → [(status, amount, tracking number)] on the Walmart sandbox."""
    order = server.app.state.walmart.get_order(po)
    return {
        line["lineNumber"]: [
            (s["status"], s["statusQuantity"]["amount"], (s.get("trackingInfo") or {}).get("trackingNumber"))
            for s in line["orderLineStatuses"]["orderLineStatus"]
        ]
        for line in order["orderLines"]["orderLine"]
    }


async def import_order(world: World, server: LoopbackServer, poll: Poll, walmart_id: str) -> tuple[str, str, Any]:
    """A two-line Walmart order polled into NetSuite; returns (purchase order id, canonical order id, its lines)."""
    order = server.app.state.walmart.create_orders(1, lines=2)[0]
    await poll(walmart_id, "orders")
    await world.wait_for(lambda: any(so.other_ref_num == order["customerOrderId"] for so in world.ns.sales_orders()),
                         "the sales order in NetSuite")  # fmt: skip
    await world.settle(2)
    with client_scope(world.client_id):
        found = world.store.find_objects("order", order["customerOrderId"])
    assert len(found) == 1, f"no order snapshot labelled {order['customerOrderId']}"
    (stored,) = found
    return order["purchaseOrderId"], stored.canonical_id, order["orderLines"]["orderLine"]


def package(tracking: str, line: dict[str, Any]) -> dict[str, Any]:
    return {"tracking_number": tracking, "carrier": "UPS", "lines": [
        {"sku": line["item"]["sku"], "quantity": int(line["orderLineQuantity"]["amount"])}]}  # fmt: skip


async def _a_walmart_order_ships_in_two_packages_is_confirmed_once_each_then_invoiced(
    world: World, walmart_server: LoopbackServer
) -> None:
    walmart_id = walmart_connection(world, walmart_server)
    poll = Poll(world)
    async with world.pipeline():
        po, order_id, lines = await import_order(world, walmart_server, poll, walmart_id)
        first, second = lines

        world.ns.ship(f"eid:{order_id}", [package("1ZFIRST", first)])
        await poll(world.netsuite_id, "item_fulfillments")
        await world.wait_for(
            lambda: len(timeline(world, order_id, "shipment.confirmed")) == 1, "the first confirmation"
        )
        statuses = line_statuses(walmart_server, po)
        assert statuses[first["lineNumber"]] == [("Shipped", first["orderLineQuantity"]["amount"], "1ZFIRST")]
        assert all(s[0] == "Created" for s in statuses[second["lineNumber"]])
        assert timeline(world, order_id, "order.fulfilled") == []

        # The same fulfilment read again (the poll's overlap) is not stored twice.
        again = await poll(world.netsuite_id, "item_fulfillments")
        assert again.stored == 0

        world.ns.ship(f"eid:{order_id}", [package("1ZSECOND", second)])
        await poll(world.netsuite_id, "item_fulfillments")
        await world.wait_for(lambda: len(timeline(world, order_id, "order.invoiced")) == 1, "the invoice")
        runs = await world.settle(5)

        # Replaying every shipment run confirms nothing again.
        shipment_runs = [r.id for r in runs if r.flow == "shipment_to_channel"]
        assert len(shipment_runs) == 2
        with client_scope(world.client_id):
            world.store.replay(shipment_runs, None, datetime.now(UTC))
        replayed = await world.settle(5)

    assert all(r.state is RunState.SUCCEEDED for r in replayed), [(r.flow, r.last_error) for r in replayed]
    confirmed = timeline(world, order_id, "shipment.confirmed")
    assert sorted(e.detail["tracking_number"] for e in confirmed) == ["1ZFIRST", "1ZSECOND"]
    assert len(timeline(world, order_id, "order.fulfilled")) == 1
    statuses = line_statuses(walmart_server, po)
    assert statuses[second["lineNumber"]] == [("Shipped", second["orderLineQuantity"]["amount"], "1ZSECOND")]
    invoices = world.ns.fulfilments.records["invoice"]
    assert len(invoices) == 1
    (invoice,) = invoices.values()
    assert invoice["externalId"] == f"inv-{order_id}"
    assert world.ns.record("salesOrder", f"eid:{order_id}")["orderStatus"]["id"] == "G"  # type: ignore[index]


async def _walmart_faults_retry_without_confirming_a_package_twice(
    world: World, walmart_server: LoopbackServer
) -> None:
    walmart_id = walmart_connection(world, walmart_server, invoicing="never")
    poll = Poll(world)
    async with world.pipeline():
        po, order_id, lines = await import_order(world, walmart_server, poll, walmart_id)
        walmart_server.app.state.walmart.set_knobs(fail_rate=0.5, rate_limit_rate=0.3, retry_after_seconds=0.05)
        world.ns.ship(f"eid:{order_id}", [package("1ZA", lines[0]), package("1ZB", lines[1])])
        await poll(world.netsuite_id, "item_fulfillments")
        await world.wait_for(
            lambda: len(timeline(world, order_id, "order.fulfilled")) == 1, "the order to be fulfilled"
        )
        runs = await world.settle(4)

    assert all(r.state is RunState.SUCCEEDED for r in runs), [(r.flow, r.last_error) for r in runs]
    assert any(r.failures for r in runs if r.flow == "shipment_to_channel"), "the faults never hit a confirmation"
    statuses = line_statuses(walmart_server, po)
    for line, tracking in zip(lines, ("1ZA", "1ZB"), strict=True):
        assert statuses[line["lineNumber"]] == [("Shipped", line["orderLineQuantity"]["amount"], tracking)]
    assert not [r for r in runs if r.flow == "invoice_in_erp"], "invoicing is off for this connection"


async def _a_fulfilment_of_an_unknown_order_opens_an_exception_and_dies_replayable(
    world: World, walmart_server: LoopbackServer
) -> None:
    walmart_id = walmart_connection(world, walmart_server)
    poll = Poll(world)
    async with world.pipeline():
        po, order_id, lines = await import_order(world, walmart_server, poll, walmart_id)
        # The order's snapshot is lost (e.g. it was entered in NetSuite by hand): nothing names it.
        with client_scope(world.client_id):
            binding = world.store.find_bindings(world.netsuite_id, "order", [order_id])
        world.ns.ship(f"eid:{order_id}", [package("1ZX", lines[0])])
        engine = world.store.engine  # type: ignore[attr-defined]
        with engine.begin() as conn:
            conn.execute(delete(objects).where(objects.c.client_id == world.client_id))
            conn.execute(delete(bindings).where(bindings.c.client_id == world.client_id))
        await poll(world.netsuite_id, "item_fulfillments")
        runs = await world.settle(3)

    (dead,) = [r for r in runs if r.flow == "shipment_to_channel"]
    assert dead.state is RunState.DEAD
    assert "which Tradewire does not know" in (dead.last_error or "")
    with client_scope(world.client_id):
        (exception,) = world.store.list_exceptions(ExceptionFilter(kind="unknown_order"))
    assert exception.run_id == dead.id
    assert exception.detail["order_external_id"] == binding[order_id]
    assert world.ns.fulfilments.records["itemFulfillment"], "the fulfilment exists in NetSuite"
    shipped = [s for states in line_statuses(walmart_server, po).values() for s in states if s[0] == "Shipped"]
    assert shipped == [], "nothing is confirmed for an order Tradewire cannot find"


def test_a_walmart_order_ships_in_two_packages_is_confirmed_once_each_then_invoiced(
    world: World, walmart_server: LoopbackServer
) -> None:
    asyncio.run(_a_walmart_order_ships_in_two_packages_is_confirmed_once_each_then_invoiced(world, walmart_server))


def test_walmart_faults_retry_without_confirming_a_package_twice(world: World, walmart_server: LoopbackServer) -> None:
    asyncio.run(_walmart_faults_retry_without_confirming_a_package_twice(world, walmart_server))


def test_a_fulfilment_of_an_unknown_order_opens_an_exception_and_dies_replayable(
    world: World, walmart_server: LoopbackServer
) -> None:
    asyncio.run(_a_fulfilment_of_an_unknown_order_opens_an_exception_and_dies_replayable(world, walmart_server))
