"""The order flows end to end on SQLite and PostgreSQL against the NetSuite sandbox on 127.0.0.1.

Deliveries go through ``WebhookIngest.receive`` with Shopify's signature; a real ``Worker``
runs until the runs settle (bounded waits). What is checked is what a merchant would see in
NetSuite (one sales order per order, cancelled when cancelled, no duplicate customers) and
what an operator would see in Tradewire (states, reasons, timelines).
"""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.runtime.store.port import RunState
from tradewire.services.operations import Operations
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

if TYPE_CHECKING:
    from tests.integration.conftest import World


def cancelled(order: dict[str, Any], *, at: str | None = None) -> dict[str, Any]:
    """The order as Shopify sends it in ``orders/cancelled``."""
    copy_ = copy.deepcopy(order)
    when = at or order["updated_at"]
    copy_.update(cancelled_at=when, cancel_reason="customer", updated_at=when, closed_at=when)
    return copy_


def timeline_events(world: World, order: dict[str, Any]) -> list[str]:
    """The order's timeline in Tradewire (found through its mapped canonical id)."""
    for listed in world.runs(flow="order_to_erp"):
        for step in world.run(listed.id).steps:
            if step.name == "map_order" and step.output["source"]["external_id"] == str(order["id"]):
                with client_scope(world.client_id):
                    return [e.event for e in world.store.timeline("order", step.output["id"])]
    return []


def test_order_becomes_one_sales_order_with_its_name_and_an_exported_event(world: World) -> None:
    order = world.new_order()

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            assert await world.deliver(ingest, order) == "stored"
            await world.settle(3)

    asyncio.run(main())
    [so] = world.sales_orders_for(order)
    assert so.external_id is not None
    assert so.line_count >= len(order["line_items"])
    runs = world.runs()
    assert sorted((r.flow, r.state) for r in runs) == [
        ("customer_to_erp", RunState.SUCCEEDED),
        ("inventory_reserve", RunState.SUCCEEDED),
        ("order_to_erp", RunState.SUCCEEDED),
    ]
    record = next(s for s in world.run(world.runs(flow="order_to_erp")[0].id).steps if s.name == "record")
    assert record.output["sales_order_ref"] == so.id
    assert timeline_events(world, order) == ["order.exported"]
    assert world.ns.duplicates() == {}


def test_second_order_of_a_customer_reuses_the_customer(world: World) -> None:
    first = world.new_order()
    second = world.new_order(same_customer_as=first)

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            await world.deliver(ingest, first)
            await world.settle(2)
            await world.deliver(ingest, second)
            await world.settle(3)

    asyncio.run(main())
    assert len(world.runs(flow="customer_to_erp")) == 1
    assert world.ns.store.count("customer") == 1
    [so1], [so2] = world.sales_orders_for(first), world.sales_orders_for(second)
    assert so1.entity == so2.entity
    assert {r.state for r in world.runs()} == {RunState.SUCCEEDED}


def test_first_order_of_a_new_customer_waits_for_the_customer_then_completes(world: World) -> None:
    order = world.new_order()

    async def main() -> None:
        async with world.pipeline(worker=False) as (ingest, bundle):
            await world.deliver(ingest, order)
            now = datetime.now(UTC)
            claimed = await asyncio.to_thread(world.store.claim, "solo", 10, 30.0, now)
            # the export and, in its own lane, the stock reservation
            assert sorted(c.run.flow for c in claimed) == ["inventory_reserve", "order_to_erp"]
            for one in claimed:
                outcome = await bundle.worker.executor.execute(one, "solo")
                if outcome.transition is not None:
                    await asyncio.to_thread(world.store.apply, [outcome.transition], datetime.now(UTC))
                expected = RunState.WAITING if one.run.flow == "order_to_erp" else RunState.SUCCEEDED
                assert outcome.state is expected
        [customer_run] = world.runs(flow="customer_to_erp")
        [order_run] = world.runs(flow="order_to_erp")
        assert order_run.state is RunState.WAITING
        assert order_run.wait_for == customer_run.id
        assert customer_run.state is RunState.QUEUED
        assert world.ns.sales_orders() == []
        async with world.pipeline():
            await world.settle(2)

    asyncio.run(main())
    assert {r.flow: r.state for r in world.runs()} == {
        "customer_to_erp": RunState.SUCCEEDED,
        "inventory_reserve": RunState.SUCCEEDED,
        "order_to_erp": RunState.SUCCEEDED,
    }
    assert len(world.sales_orders_for(order)) == 1


def test_cancellation_before_its_create_never_makes_an_orphan(world: World) -> None:
    order = world.new_order()

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            await world.deliver(ingest, cancelled(order), topic="orders/cancelled")

            def cancel_retrying() -> bool:
                runs = world.runs(flow="order_cancel_to_erp")
                return bool(runs) and runs[0].state is RunState.RETRY_SCHEDULED

            await world.wait_for(cancel_retrying, "the early cancellation to wait for its create")
            [cancel_run] = world.runs(flow="order_cancel_to_erp")
            assert cancel_run.last_error is not None
            assert "not in the ERP yet" in cancel_run.last_error
            await asyncio.sleep(0.3)  # it keeps retrying, and keeps creating nothing
            assert world.ns.sales_orders() == []
            await world.deliver(ingest, order)
            await world.settle(3)

    asyncio.run(main())
    [so] = world.sales_orders_for(order)
    assert so.status == "C"
    assert {r.state for r in world.runs()} == {RunState.SUCCEEDED}
    assert timeline_events(world, order) == ["order.exported", "order.cancelled_in_erp"]


def test_create_then_cancel_in_the_same_second(world: World) -> None:
    order = world.new_order()
    cancellation = cancelled(order, at=order["created_at"])  # Shopify stamps whole seconds

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            await asyncio.gather(
                world.deliver(ingest, order), world.deliver(ingest, cancellation, topic="orders/cancelled")
            )
            await world.settle(3)

    asyncio.run(main())
    [so] = world.sales_orders_for(order)
    assert so.status == "C"
    assert {r.state for r in world.runs()} == {RunState.SUCCEEDED}
    assert world.ns.duplicates() == {}


def test_netsuite_storm_is_retried_until_each_order_lands_once(world: World) -> None:
    orders = [world.new_order() for _ in range(6)]
    storm = FaultKnobs(fail_rate=0.5, rate_limit_rate=0.4, retry_after_seconds=0.05, seed=11)

    async def main() -> None:
        world.ns.set_knobs(storm)
        async with world.pipeline() as (ingest, _):
            for order in orders:
                await world.deliver(ingest, order)
            await asyncio.sleep(1.5)
            assert any(not r.state.terminal or r.failures for r in world.runs())
            world.ns.set_knobs(FaultKnobs())  # healed
            await world.settle(12)

    asyncio.run(main())
    stats = world.ns.snapshot_stats()
    assert stats["throttled"] > 0
    assert stats["faults"] > 0
    assert {r.state for r in world.runs()} == {RunState.SUCCEEDED}
    assert any(r.failures > 0 for r in world.runs())
    for order in orders:
        assert len(world.sales_orders_for(order)) == 1
    assert world.ns.duplicates() == {}
    assert world.ns.store.count("customer") == 6


def test_unknown_sku_is_dead_lettered_then_replayed_after_the_item_exists(world: World) -> None:
    order = world.new_order()
    order["line_items"][0]["sku"] = "GHOST-SKU-9"

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            await world.deliver(ingest, order)
            await world.settle(2)
            [dead] = world.runs(state=RunState.DEAD)
            assert dead.flow == "order_to_erp"
            assert dead.last_error is not None
            assert "SKU GHOST-SKU-9 not found in the ERP" in dead.last_error
            assert "replay" in dead.last_error
            assert world.ns.sales_orders() == []
            world.ns.seed_items([("GHOST-SKU-9", "Ghost item", "12.00")])
            report = await asyncio.to_thread(Operations(world.store, world.client_id, actor="test").replay, [dead.id])
            assert report.queued == [dead.id]
            await world.settle(2)

    asyncio.run(main())
    assert {r.state for r in world.runs()} == {RunState.SUCCEEDED}
    assert len(world.sales_orders_for(order)) == 1
    assert world.ns.store.count("customer") == 1


def test_replay_from_a_step_keeps_earlier_outputs(world: World) -> None:
    order = world.new_order()

    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        async with world.pipeline() as (ingest, _):
            await world.deliver(ingest, order)
            await world.settle(2)
            [listed] = world.runs(flow="order_to_erp")
            run = world.run(listed.id)
            before = {s.name: s for s in run.steps}
            ops = Operations(world.store, world.client_id, actor="test")
            await asyncio.to_thread(ops.replay, [run.id], from_step="upsert_sales_order")
            await world.wait_for(lambda: world.run(run.id).state is RunState.SUCCEEDED, "the replay to end")
            after = {s.name: s for s in world.run(run.id).steps}
            return before, after

    before, after = asyncio.run(main())
    kept = ["map_order", "check_not_cancelled", "resolve_customer", "resolve_items"]
    for name in kept:
        assert after[name] == before[name], name
    for name in ("upsert_sales_order", "record"):
        assert after[name].attempt > before[name].attempt
        assert after[name].started_at > before[name].started_at
    assert after["upsert_sales_order"].output == before["upsert_sales_order"].output
    assert len(world.sales_orders_for(order)) == 1
    assert len(world.runs(flow="customer_to_erp")) == 1
    # The sales order was exported once; the replay only updated it.
    assert timeline_events(world, order) == ["order.exported", "order.updated_in_erp"]


def test_refused_credentials_pause_the_connection_instead_of_killing_runs(world: World) -> None:
    box = SecretBox(world.settings.secret_key.get_secret_value())
    wrong = {**world.ns_secrets, "token_secret": "not-the-token-secret"}
    netsuite_id = world.store.create_connection(
        world.client_id,
        "netsuite",
        "NetSuite (wrong token)",
        dict(world.store.get_connection(world.netsuite_id).settings),
        box.seal(wrong),
    )
    shopify = world.store.get_connection(world.shopify_id)
    world.shopify_id = world.store.create_connection(
        world.client_id, "shopify", "Shopify (to the wrong token)", {**shopify.settings, "routes": {"erp": netsuite_id}},
        shopify.secrets,
    )  # fmt: skip
    order = world.new_order()

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            await world.deliver(ingest, order)

            def parked() -> bool:
                runs = world.runs(flow="customer_to_erp")
                return bool(runs) and runs[0].state is RunState.RETRY_SCHEDULED

            await world.wait_for(parked, "the run to be parked by the refused credentials")

    asyncio.run(main())
    connection = world.store.get_connection(netsuite_id)
    assert connection.status == "paused"
    assert connection.paused_reason
    [customer_run] = world.runs(flow="customer_to_erp")
    assert customer_run.last_error is not None
    assert "credentials refused" in customer_run.last_error
    assert f"connection {netsuite_id} paused" in customer_run.last_error
    assert world.runs(state=RunState.DEAD) == []
    assert world.run(world.runs(flow="order_to_erp")[0].id).state is RunState.WAITING
    assert world.ns.snapshot_stats()["auth_failures"] >= 1
    assert world.ns.sales_orders() == []
    assert world.store.get_connection(world.netsuite_id).status == "active"


def test_stolen_lease_never_double_writes(world: World) -> None:
    first = world.new_order()
    order = world.new_order(same_customer_as=first)  # its customer is exported already: no waiting

    async def main() -> list[bool]:
        async with world.pipeline() as (ingest, _):
            await world.deliver(ingest, first)
            await world.settle(2)
        async with world.pipeline(worker=False) as (ingest, zombie):
            await world.deliver(ingest, order)
            # The zombie claims with a tiny lease and stalls past it; the run is rescued.
            [stale] = await asyncio.to_thread(world.store.claim, "zombie", 1, 0.05, datetime.now(UTC))
            await asyncio.sleep(0.2)
            assert await asyncio.to_thread(world.store.rescue_expired, datetime.now(UTC)) == 1
            async with world.pipeline():  # another worker finishes the rescued run
                await world.settle(3)
            # The zombie wakes up, does all its work again and tries to commit it.
            outcome = await zombie.worker.executor.execute(stale, "zombie")
            assert outcome.transition is not None
            return await asyncio.to_thread(world.store.apply, [outcome.transition], datetime.now(UTC))

    assert asyncio.run(main()) == [False]
    runs = [world.run(r.id) for r in world.runs(flow="order_to_erp")]
    run = next(r for r in runs if r.steps[0].output["number"] == order["name"])
    assert run.state is RunState.SUCCEEDED
    assert run.attempt == 2
    assert run.lease_owner is None
    assert len(world.sales_orders_for(order)) == 1
    assert world.ns.duplicates() == {}
    assert world.ns.store.count("customer") == 1
    assert timeline_events(world, order) == ["order.exported"]


def test_a_late_older_update_does_not_overwrite_a_newer_one(world: World) -> None:
    order = world.new_order()
    newer = copy.deepcopy(order)
    newer.update(updated_at="2031-01-02T10:00:00-05:00", note="gift wrap please")
    older = copy.deepcopy(order)
    older.update(updated_at="2031-01-01T10:00:00-05:00", note="stale note")

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            await world.deliver(ingest, order)
            await world.settle(2)
            await world.deliver(ingest, newer, topic="orders/updated")
            await world.settle(3)
            await world.deliver(ingest, older, topic="orders/updated")  # arrives last, changed first
            await world.settle(4)

    asyncio.run(main())
    [so] = world.sales_orders_for(order)
    record = world.ns.record("salesOrder", so.id)
    assert record is not None
    assert record.get("memo") == "gift wrap please"
    late = max(world.runs(flow="order_to_erp"), key=lambda r: r.id)
    assert late.state is RunState.SUCCEEDED
    assert "late, older update" in (late.last_error or "")
    assert timeline_events(world, order) == ["order.exported", "order.updated_in_erp"]
