"""Fulfilment end to end: a Walmart order goes into NetSuite, ships in parts, is confirmed on Walmart, invoiced.

Real parts only: the Walmart and NetSuite sandboxes on 127.0.0.1, the real store (SQLite file
and PostgreSQL), the polling service reading both, and the worker running the flows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from fulfilment_support import (
    Poll,
    import_order,
    line_statuses,
    package,
    serve_walmart,
    timeline,
    walmart_connection,
)
from sqlalchemy import delete

from tradewire.connectors.base.sandbox import LoopbackServer
from tradewire.runtime.store.port import RunState
from tradewire.runtime.store.port_facts import ExceptionFilter
from tradewire.runtime.store.tables import bindings, objects
from tradewire.tenancy.context import client_scope

if TYPE_CHECKING:
    from tests.integration.conftest import World


@pytest.fixture
def walmart_server() -> Iterator[LoopbackServer]:
    yield from serve_walmart()


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
    walmart_id = walmart_connection(world, walmart_server, invoicing="never")
    poll = Poll(world)
    engine = world.store.engine  # type: ignore[attr-defined]
    async with world.pipeline():
        po, order_id, lines = await import_order(world, walmart_server, poll, walmart_id)
        # Tradewire loses track of the order (as if it were entered in NetSuite by hand): nothing names it.
        with engine.connect() as conn:
            kept_objects = [
                r._asdict() for r in conn.execute(objects.select().where(objects.c.client_id == world.client_id))
            ]
            kept_bindings = [
                r._asdict() for r in conn.execute(bindings.select().where(bindings.c.client_id == world.client_id))
            ]
        with engine.begin() as conn:
            conn.execute(delete(objects).where(objects.c.client_id == world.client_id))
            conn.execute(delete(bindings).where(bindings.c.client_id == world.client_id))
        world.ns.ship(f"eid:{order_id}", [package("1ZX", lines[0])])
        await poll(world.netsuite_id, "item_fulfillments")
        runs = await world.settle(3)

        (dead,) = [r for r in runs if r.flow == "shipment_to_channel"]
        assert dead.state is RunState.DEAD
        assert "which Tradewire does not know" in (dead.last_error or "")
        with client_scope(world.client_id):
            (exception,) = world.store.list_exceptions(ExceptionFilter(kind="unknown_order"))
        assert exception.run_id == dead.id
        assert exception.detail["order_number"] == "SO1"
        shipped = [s for states in line_statuses(walmart_server, po).values() for s in states if s[0] == "Shipped"]
        assert shipped == [], "nothing is confirmed for an order Tradewire cannot find"

        # The operator brings the order back, then replays the dead run: confirmed, exception healed.
        with engine.begin() as conn:
            conn.execute(objects.insert(), kept_objects)
            conn.execute(bindings.insert(), kept_bindings)
        with client_scope(world.client_id):
            world.store.replay([dead.id], None, datetime.now(UTC))
        await world.wait_for(lambda: world.run(dead.id).state is RunState.SUCCEEDED, "the replayed run")

    assert line_statuses(walmart_server, po)[lines[0]["lineNumber"]] == [
        ("Shipped", lines[0]["orderLineQuantity"]["amount"], "1ZX")
    ]
    with client_scope(world.client_id):
        assert world.store.list_exceptions(ExceptionFilter(kind="unknown_order")) == [], "healed by the replay"


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
