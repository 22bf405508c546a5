"""Holds, exceptions, the order timeline, bulk replay and reconciliation, end to end.

Real store (SQLite file and PostgreSQL), the NetSuite sandbox on 127.0.0.1, a real worker, and
the operator's CLI (``tradewire orders release …``) in-process. What is checked is what a merchant
sees in NetSuite (one sales order, only once released) and what an operator sees in Tradewire.
"""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from typer.testing import CliRunner

from tradewire.cli.main import app
from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.runtime.store.port import RunState
from tradewire.runtime.store.port_facts import ExceptionFilter, ExceptionState
from tradewire.runtime.store.port_operations import HoldState
from tradewire.services.bulk_replay import ReplaySelection, bulk_replay
from tradewire.services.operations import Operations
from tradewire.services.order_timeline import build_timeline
from tradewire.services.orders import OrderOperations
from tradewire.services.reconcile import checks_named, reconcile
from tradewire.tenancy.context import client_scope

if TYPE_CHECKING:
    from tests.integration.conftest import World

runner = CliRunner()


def set_holds(world: World, holds: dict[str, Any]) -> None:
    """Give the Shopify connection hold rules (as `tradewire config apply` would store them)."""
    rec = world.store.get_connection(world.shopify_id)
    settings = {**rec.settings, "holds": holds}
    world.store.put_connection(rec.id, rec.client_id, rec.system, rec.name, settings, rec.secrets)


def events(world: World, order_id: str) -> list[str]:
    """The order's timeline events."""
    with client_scope(world.client_id):
        return [e.event for e in world.store.timeline("order", order_id)]


def order_run_waiting(world: World) -> bool:
    """The order's run is parked on its hold."""
    runs = world.runs(flow="order_to_erp")
    return bool(runs) and runs[0].state is RunState.WAITING and "on hold" in (runs[0].last_error or "")


def cli(world: World, *args: str) -> Any:
    """Run the CLI against the test's database; returns the parsed --json output."""
    result = runner.invoke(
        app, [*args, "--database-url", world.settings.database.url, "--client", world.client_id, "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_high_value_order_is_held_then_released_by_the_cli_and_reaches_netsuite_once(world: World) -> None:
    set_holds(world, {"high_value": {"amount": "1.00"}, "recheck_seconds": 0.2})
    order = world.new_order()

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            await world.deliver(ingest, order)
            await world.wait_for(lambda: order_run_waiting(world), "the order to be held")
            await asyncio.sleep(0.6)  # it looks again a few times, and stays held
            assert not world.runs(flow="order_to_erp")[0].state.terminal  # parked (or looking again)
            assert world.sales_orders_for(order) == []
            released = await asyncio.to_thread(
                cli, world, "orders", "release", order["name"], "--reason", "called buyer"
            )
            assert released["state"] == "released"
            assert released["released_by"] == "cli"
            await world.settle(2)

    asyncio.run(main())
    [so] = world.sales_orders_for(order)
    assert world.ns.duplicates() == {}
    found = OrderOperations(world.store, world.client_id, actor="test").find(order["name"])
    assert events(world, found.id) == ["order.held", "order.released", "order.exported"]
    with client_scope(world.client_id):
        hold = world.store.get_hold(found.id)
    assert hold is not None
    assert hold.state is HoldState.RELEASED
    assert hold.release_reason == "called buyer"
    assert hold.reasons[0]["rule"] == "high_value"
    assert so.external_id == found.id
    # Releasing again is a clear error, not a second export.
    again = runner.invoke(
        app,
        [
            "orders",
            "release",
            order["name"],
            "--reason",
            "again",
            "--database-url",
            world.settings.database.url,
            "--client",
            world.client_id,
        ],
    )
    assert again.exit_code == 2
    assert "already released" in again.output


def test_incomplete_address_is_released_automatically_when_an_update_completes_it(world: World) -> None:
    set_holds(world, {"address_incomplete": True, "recheck_seconds": 0.1})
    order = world.new_order()
    order["shipping_address"] = {**order["shipping_address"], "city": "", "zip": None}
    fixed = copy.deepcopy(order)
    fixed["shipping_address"] = {**order["shipping_address"], "city": "Lyon", "zip": "69001"}
    later = datetime.fromisoformat(order["updated_at"]) + timedelta(minutes=5)
    fixed["updated_at"] = later.isoformat()

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            await world.deliver(ingest, order)
            await world.wait_for(lambda: order_run_waiting(world), "the order to be held")
            assert world.sales_orders_for(order) == []
            await world.deliver(ingest, fixed, topic="orders/updated")
            await world.settle(3)

    asyncio.run(main())
    assert len(world.sales_orders_for(order)) == 1
    found = OrderOperations(world.store, world.client_id, actor="test").find(order["name"])
    assert events(world, found.id) == ["order.held", "order.released", "order.exported"]
    first, second = sorted(world.runs(flow="order_to_erp"), key=lambda r: r.id)
    assert first.state is RunState.SUCCEEDED
    assert "takes over" in (first.last_error or "")
    assert second.state is RunState.SUCCEEDED
    assert second.last_error is None
    with client_scope(world.client_id):
        hold = world.store.get_hold(found.id)
    assert hold is not None
    assert hold.released_by == "tradewire"


def test_timeline_shows_message_runs_steps_calls_and_the_netsuite_id(world: World) -> None:
    order = world.new_order()

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            await world.deliver(ingest, order)
            await world.settle(2)

    asyncio.run(main())
    [so] = world.sales_orders_for(order)
    data = cli(world, "orders", "timeline", order["name"])
    kinds = [e["kind"] for e in data["entries"]]
    assert kinds[0] == "message"
    assert kinds.index("message") < kinds.index("run") < kinds.index("step") < kinds.index("call")
    assert {"system": "erp", "connection_id": world.netsuite_id, "external_id": so.id} in data["documents"]
    calls = [e for e in data["entries"] if e["kind"] == "call"]
    upserts = [c for c in calls if c["method"] == "PUT" and "/salesOrder/" in c["path"]]
    assert len(upserts) == 1
    assert upserts[0]["status"] == 204
    assert all("?" not in c["path"] and "secret" not in json.dumps(c).lower() for c in calls)
    exported = [e for e in data["entries"] if e["kind"] == "event" and e["event"] == "order.exported"]
    assert exported[0]["external_id"] == so.id
    times = [e["at"] for e in data["entries"]]
    assert times == sorted(times)


def test_unknown_sku_opens_an_exception_that_the_replay_resolves_and_bulk_replay_counts_first(world: World) -> None:
    bad = [world.new_order() for _ in range(2)]
    for order in bad:
        order["line_items"][0]["sku"] = "GHOST-SKU-7"
    ops = Operations(world.store, world.client_id, actor="test")
    selection = ReplaySelection(flow="order_to_erp", error_contains="ghost-sku-7")

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            for order in bad:
                await world.deliver(ingest, order)
            await world.settle(3)
            with client_scope(world.client_id):
                opened = world.store.list_exceptions(ExceptionFilter(kind="unknown_sku"))
            assert len(opened) == 2
            assert "GHOST-SKU-7" in opened[0].message
            dry = await asyncio.to_thread(bulk_replay, ops, selection, dry_run=True)
            assert len(dry.matched) == 2
            assert dry.queued == []
            await asyncio.sleep(0.2)
            assert world.ns.sales_orders() == []
            world.ns.seed_items([("GHOST-SKU-7", "Ghost item", "12.00")])
            done = await asyncio.to_thread(bulk_replay, ops, selection, dry_run=False)
            assert sorted(done.queued) == sorted(done.matched)
            await world.settle(3)

    asyncio.run(main())
    assert {r.state for r in world.runs()} == {RunState.SUCCEEDED}
    assert all(len(world.sales_orders_for(o)) == 1 for o in bad)
    with client_scope(world.client_id):
        assert world.store.list_exceptions(ExceptionFilter(kind="unknown_sku")) == []
        resolved = world.store.list_exceptions(ExceptionFilter(state=ExceptionState.RESOLVED, kind="unknown_sku"))
    assert len(resolved) == 2
    assert all("reached the ERP" in (x.resolution or "") for x in resolved)


def test_reconciliation_finds_an_order_missing_in_the_erp_and_heals_it(world: World) -> None:
    order = world.new_order()
    world.settings.retry.max_attempts = 2
    check = checks_named(["order_not_in_erp"])
    later = datetime.now(UTC) + timedelta(hours=1)  # past the grace period

    async def main() -> None:
        world.ns.set_knobs(FaultKnobs(fail_rate=1.0))  # NetSuite is down until the run gives up
        async with world.pipeline() as (ingest, _):
            await world.deliver(ingest, order)
            await world.wait_for(
                lambda: bool(world.runs(state=RunState.DEAD, flow="order_to_erp")), "the order's run to give up"
            )
            # Too early: still inside the grace period, nothing to report.
            [early] = await asyncio.to_thread(
                reconcile, world.store, world.client_id, datetime.now(UTC), checks=check, grace=timedelta(minutes=30)
            )
            assert early.findings == []
            world.ns.set_knobs(FaultKnobs())
            [report] = await asyncio.to_thread(
                reconcile, world.store, world.client_id, later, checks=check, grace=timedelta(minutes=30)
            )
            assert [f["detail"]["number"] for f in report.findings] == [order["name"]]
            assert report.healed[0]["action"].startswith("replayed order_to_erp run")
            await world.settle(2)
        [again] = await asyncio.to_thread(
            reconcile, world.store, world.client_id, later, checks=check, grace=timedelta(minutes=30)
        )
        assert again.findings == []

    asyncio.run(main())
    assert len(world.sales_orders_for(order)) == 1
    with client_scope(world.client_id):
        assert world.store.list_exceptions(ExceptionFilter(kind="order_not_in_erp")) == []
        [closed] = world.store.list_exceptions(ExceptionFilter(state=ExceptionState.RESOLVED, kind="order_not_in_erp"))
    assert closed.resolved_by == "tradewire"  # the replayed run closed it when it reached NetSuite
    found = OrderOperations(world.store, world.client_id, actor="test").find(order["name"])
    story = build_timeline(world.store, world.client_id, found)
    assert any(e["kind"] == "exception" and e["exception_kind"] == "order_not_in_erp" for e in story.entries)


def two_line_order(world: World) -> dict[str, Any]:
    """A Shopify order of 3 tees and 3 hoodies (order totals left for the mapping to add up)."""
    order = world.new_order()
    base = order["line_items"][0]
    lines = []
    for n, (sku, title, price) in enumerate(CATALOG_TWO):
        line = copy.deepcopy(base)
        line.update(
            id=base["id"] + 1000 + n,
            sku=sku,
            title=title,
            name=title,
            price=price,
            quantity=3,
            current_quantity=3,
            fulfillable_quantity=3,
            tax_lines=[],
            discount_allocations=[],
        )
        lines.append(line)
    order["line_items"] = lines
    for key in ("total_line_items_price", "total_price", "subtotal_price", "total_tax", "total_discounts"):
        order.pop(key, None)
    order["tax_lines"] = []
    order["shipping_lines"] = []
    return order


CATALOG_TWO = [("TEE-ORG-M", "Organic cotton tee — M", "24.00"), ("HOOD-MRN-M", "Merino hoodie — M", "89.00")]


def test_partial_cancellation_updates_the_netsuite_order_instead_of_cancelling_it(world: World) -> None:
    order = two_line_order(world)
    edited = copy.deepcopy(order)
    edited["line_items"][0]["current_quantity"] = 1  # two tees cancelled
    edited["line_items"][1]["current_quantity"] = 0  # the hoodies cancelled whole
    edited["updated_at"] = (datetime.fromisoformat(order["updated_at"]) + timedelta(minutes=3)).isoformat()

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            await world.deliver(ingest, order)
            await world.settle(2)
            [so] = world.sales_orders_for(order)
            lines = world.ns.store.get("salesOrder", so.id)["item"]["items"]
            assert sorted((x["item"]["refName"], x["quantity"]) for x in lines) == [("HOOD-MRN-M", 3), ("TEE-ORG-M", 3)]
            await world.deliver(ingest, edited, topic="orders/updated")
            await world.settle(3)

    asyncio.run(main())
    [so] = world.sales_orders_for(order)
    assert so.status != "C"
    record = world.ns.store.get("salesOrder", so.id)
    assert [(x["item"]["refName"], x["quantity"]) for x in record["item"]["items"]] == [("TEE-ORG-M", 1)]
    found = OrderOperations(world.store, world.client_id, actor="test").find(order["name"])
    assert events(world, found.id) == ["order.exported", "order.updated_in_erp"]
    assert world.ns.duplicates() == {}
