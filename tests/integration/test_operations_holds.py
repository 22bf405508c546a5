"""Holds that end without an operator (cancelled while held, auto release), and the CLI fed bad input."""

from __future__ import annotations

import asyncio
import copy
from typing import TYPE_CHECKING, Any

from typer.testing import CliRunner

from tradewire.cli.main import app
from tradewire.runtime.store.port import RunState
from tradewire.services.orders import OrderOperations
from tradewire.tenancy.context import client_scope

if TYPE_CHECKING:
    from tests.integration.conftest import World

runner = CliRunner()


def set_holds(world: World, holds: dict[str, Any]) -> None:
    """Give the Shopify connection hold rules."""
    rec = world.store.get_connection(world.shopify_id)
    settings = {**rec.settings, "holds": holds}
    world.store.put_connection(rec.id, rec.client_id, rec.system, rec.name, settings, rec.secrets)


def held(world: World) -> bool:
    runs = world.runs(flow="order_to_erp")
    return bool(runs) and runs[0].state is RunState.WAITING and "on hold" in (runs[0].last_error or "")


def events(world: World, number: str) -> list[str]:
    order = OrderOperations(world.store, world.client_id, actor="test").find(number)
    with client_scope(world.client_id):
        return [e.event for e in world.store.timeline("order", order.id)]


def test_an_order_cancelled_while_held_never_reaches_the_erp(world: World) -> None:
    set_holds(world, {"fraud_tags": ["fraud"], "recheck_seconds": 0.1})
    order = world.new_order(tags="fraud")
    cancelled = copy.deepcopy(order)
    cancelled.update(cancelled_at=order["updated_at"], cancel_reason="fraud", closed_at=order["updated_at"])

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            await world.deliver(ingest, order)
            await world.wait_for(lambda: held(world), "the order to be held")
            await world.deliver(ingest, cancelled, topic="orders/cancelled")
            await world.settle(4)  # export and cancel, and the stock reservation and its release

    asyncio.run(main())
    assert world.ns.sales_orders() == []
    assert world.ns.store.count("customer") == 0
    assert {r.flow: r.state for r in world.runs()} == {
        "order_to_erp": RunState.SUCCEEDED,
        "order_cancel_to_erp": RunState.SUCCEEDED,
        "inventory_reserve": RunState.SUCCEEDED,
    }
    assert events(world, order["name"]) == ["order.held", "order.released", "order.export_skipped"]


def test_a_hold_releases_itself_after_auto_release_after(world: World) -> None:
    set_holds(world, {"tags": ["review"], "auto_release_after_minutes": 0.01, "recheck_seconds": 60})
    order = world.new_order(tags="review")

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            await world.deliver(ingest, order)
            await world.wait_for(lambda: held(world) or bool(world.sales_orders_for(order)), "the hold")
            await world.settle(2)  # 0.6 s later it wakes by itself, not 60 s later

    asyncio.run(main())
    assert len(world.sales_orders_for(order)) == 1
    assert events(world, order["name"]) == ["order.held", "order.released", "order.exported"]


def test_cli_refuses_bad_input_with_one_clear_line(world: World) -> None:
    base = ["--database-url", world.settings.database.url, "--client", world.client_id]
    cases = {
        ("orders", "release", "4242", "--reason", "x"): "no order '4242'",
        ("orders", "release", "x" * 80, "--reason", "x"): "is not an order number or id",
        ("orders", "timeline", "\x00bad"): "is not an order number or id",
        ("exceptions", "show", "0"): "exception 0 does not exist",
        ("exceptions", "resolve", "5", "--reason", "y" * 501): "at most 500",
        ("exceptions", "list", "--state", "maybe"): "unknown state 'maybe'",
        ("reconcile", "run", "--check", "nope"): "no reconciliation check 'nope'",
        ("runs", "replay", "--state", "running"): "only ended runs",
        ("runs", "replay"): "give run ids",
    }
    for args, phrase in cases.items():
        result = runner.invoke(app, [*args, *base])
        assert result.exit_code == 2, (args, result.output)
        assert phrase in " ".join(result.output.split()), (args, result.output)
        assert "Traceback" not in result.output
    garbage = runner.invoke(app, ["exceptions", "show", "abc", *base])
    assert garbage.exit_code == 2  # typer's usage error: not an integer
    assert "Traceback" not in garbage.output


def test_an_operator_hold_keeps_later_updates_out_of_the_erp_until_released(world: World) -> None:
    set_holds(world, {"recheck_seconds": 0.1})  # no rules: only the operator holds
    order = world.new_order()
    update = copy.deepcopy(order)
    update.update(note="deliver to the back door", updated_at="2031-01-01T10:00:00-05:00")
    base = ["--database-url", world.settings.database.url, "--client", world.client_id]
    orders = OrderOperations(world.store, world.client_id, actor="test")

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            await world.deliver(ingest, order)
            await world.settle(2)
            hold = await asyncio.to_thread(
                runner.invoke, app, ["orders", "hold", order["name"], "--reason", "chargeback risk", *base]
            )
            assert hold.exit_code == 0, hold.output
            twice = await asyncio.to_thread(
                runner.invoke, app, ["orders", "hold", order["name"], "--reason", "x", *base]
            )
            assert twice.exit_code == 2
            assert "already held" in twice.output
            await world.deliver(ingest, update, topic="orders/updated")
            await world.wait_for(lambda: held(world), "the update to wait on the hold")
            [so] = world.sales_orders_for(order)
            assert world.ns.store.get("salesOrder", so.id).get("memo") != "deliver to the back door"
            await asyncio.to_thread(orders.release, order["name"], "buyer verified")
            await world.settle(3)

    asyncio.run(main())
    [so] = world.sales_orders_for(order)
    assert world.ns.store.get("salesOrder", so.id)["memo"] == "deliver to the back door"
    assert events(world, order["name"]) == ["order.exported", "order.held", "order.released", "order.updated_in_erp"]
