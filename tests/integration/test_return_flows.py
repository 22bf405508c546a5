"""Returns end to end through real sandboxes and a real store (SQLite and PostgreSQL).

A Walmart order reaches NetSuite; Loop announces a return of it; the operator inspects the lines;
the worker refunds on Walmart, books a return authorisation + credit memo in NetSuite and records
the restock. Duplicates, out-of-order events and replays never post twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from returns_world import Shop, open_exceptions, open_shop

from tradewire.tenancy.context import client_scope

if TYPE_CHECKING:
    from tests.integration.conftest import World


@pytest.fixture
def shop(world: World) -> Iterator[Shop]:
    yield from open_shop(world)


def test_a_loop_return_is_refunded_on_walmart_credited_in_netsuite_and_restocked(shop: Shop) -> None:
    asyncio.run(full_return(shop))


async def full_return(shop: Shop) -> None:
    world = shop.world
    order = shop.shipped_order()
    po = order["purchaseOrderId"]
    async with world.pipeline() as (ingest, _):
        shop.ingest_order(order)
        await world.settle(1)
        return_id = shop.loop_return(order)
        created = shop.loop.webhook_body("return", "return.created", return_id)
        assert await shop.deliver(ingest, "return", "return.created", return_id, created) == "stored"
        shop.loop.create_label(return_id)
        label_body = shop.loop.webhook_body("label", "label.created", return_id)
        shop.loop.request_restock(return_id)
        # out of order: the restock arrives before the label, then the old label and a duplicate
        assert await shop.deliver(ingest, "restock", "restock.requested", return_id) == "stored"
        assert await shop.deliver(ingest, "label", "label.created", return_id, label_body) == "stored"
        assert await shop.deliver(ingest, "return", "return.created", return_id, created) == "duplicate"
        await world.settle(4)
        [rma] = shop.rmas()
        assert rma["state"] == "received"
        assert rma["order_number"] == order["customerOrderId"]
        assert shop.walmart_refunds(po) == []
        assert shop.credit_memos == []

        service = shop.service()
        first, second = rma["lines"]
        queued = service.inspect(rma["id"], line_id=first["line_id"], received=1, disposition="restock")
        assert queued["queued"]
        assert queued["due_after"] == []
        service.inspect(rma["id"], line_id=second["line_id"], received=1, disposition="write_off")
        await world.settle(6)

        [rma] = shop.rmas()
        assert rma["state"] == "closed", rma
        assert rma["refund"]["origin"] == "tradewire"
        assert rma["credit_memo"]
        assert shop.walmart_refunds(po) == [f"tradewire:{rma['id']}"] * 2
        [memo] = shop.credit_memos
        assert memo["id"] == rma["credit_memo"]
        assert memo["externalId"] == f"CM-{rma['id']}"
        assert sorted(m[0] for m in shop.movements()) == ["restock", "write_off"]

        # replaying the inspection from its refund step posts nothing twice
        inspect_runs = [r.id for r in world.runs(flow="return_inspect")]
        with client_scope(world.client_id):
            world.store.replay(inspect_runs, "post_refund", datetime.now(UTC))
        await world.settle(6)
    assert shop.walmart_refunds(po) == [f"tradewire:{rma['id']}"] * 2
    assert len(shop.credit_memos) == 1
    assert len(shop.movements()) == 2
    assert all(r.state.value == "succeeded" for r in world.runs())


def test_mismatch_unknown_order_and_illegal_inspection_are_clear(shop: Shop) -> None:
    asyncio.run(problem_return(shop))


async def problem_return(shop: Shop) -> None:
    world = shop.world
    order = shop.shipped_order()
    async with world.pipeline() as (ingest, _):
        return_id = shop.loop_return(order)  # the order itself has not reached Tradewire yet
        await shop.deliver(ingest, "return", "return.created", return_id)
        await world.wait_for(
            lambda: bool(open_exceptions(world, "return_unknown_order")), "the unknown-order exception"
        )
        shop.ingest_order(order)  # the order arrives: the return's retry finds it and heals the exception
        await world.settle(2)
        assert open_exceptions(world, "return_unknown_order") == []
        [rma] = shop.rmas()
        assert rma["state"] == "authorized"

        service = shop.service()
        first, second = rma["lines"]
        with pytest.raises(Exception, match="no line 'nope'"):
            service.inspect(rma["id"], line_id="nope", received=1, disposition="restock")
        with pytest.raises(Exception, match="unknown disposition"):
            service.inspect(rma["id"], line_id=first["line_id"], received=1, disposition="burn")
        service.inspect(rma["id"], line_id=first["line_id"], received=0, disposition="write_off")
        service.inspect(rma["id"], line_id=second["line_id"], received=1, disposition="restock")
        await world.settle(4)
        [mismatch] = open_exceptions(world, "quantity_mismatch")
        assert mismatch.detail == {"expected": 1, "received": 0, "sku": first["sku"]}
        [rma] = shop.rmas()
        assert rma["state"] == "closed"
        assert rma["refund_total"] == second["refund_amount"]
        with pytest.raises(Exception, match="closed"):
            service.inspect(rma["id"], line_id=second["line_id"], received=1, disposition="restock")
    assert shop.movements() == [("restock", second["sku"], 1)]
