"""Channel refunds and faults: a refund made on Shopify is never made again, still gets its credit
memo, and a refund without a return is an exception a person can act on. Faulty vendors never
cause a second refund or credit memo."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from returns_world import Shop, open_exceptions, open_shop

from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.services.ingest import WebhookIngest

if TYPE_CHECKING:
    from tests.integration.conftest import World

FIXTURE = Path("/work/shared/connectors/fixtures/shopify_rest_refund_create.json")


@pytest.fixture
def shop(world: World) -> Iterator[Shop]:
    yield from open_shop(world)


def refund_body(order: dict[str, Any], refund_id: int, amount: str, note: str = "wrong size") -> bytes:
    """A ``refunds/create`` body for ``order`` (shape of Shopify's documented refund)."""
    if FIXTURE.exists():
        refund = copy.deepcopy(json.loads(FIXTURE.read_text())["response_body"]["refund"])
    else:  # the fixture lives in the shared workspace; keep the shape if it moves
        refund = {"created_at": "2026-11-23T10:00:00Z", "refund_line_items": [], "transactions": []}
    line = order["line_items"][0]
    refund.update(id=refund_id, order_id=order["id"], note=note, processed_at=None)
    refund["refund_line_items"] = [{"id": refund_id + 1, "line_item_id": line["id"], "quantity": 1, "restock_type": "return",
                                    "subtotal": line["price"], "total_tax": 0, "line_item": {"sku": line["sku"]}}]  # fmt: skip
    refund["transactions"] = [
        {"id": refund_id + 2, "kind": "refund", "status": "success", "amount": amount, "currency": "USD"}
    ]
    return json.dumps(refund).encode()


async def deliver_refund(world: World, ingest: WebhookIngest, body: bytes) -> str:
    accepted = await ingest.receive("shopify", world.shopify_id, body, world.headers(body, topic="refunds/create"))
    return accepted.status


def test_a_shopify_refund_before_its_return_gets_a_credit_memo_and_no_second_refund(shop: Shop) -> None:
    world = shop.world
    order = world.new_order()

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            assert await world.deliver(ingest, order) == "stored"
            await world.settle(2)
            price = str(order["line_items"][0]["price"])
            assert await deliver_refund(world, ingest, refund_body(order, 7001, price)) == "stored"
            await world.settle(3)
            [problem] = open_exceptions(world, "refund_without_return")
            assert "no return is known" in problem.message
            # our own refund (marked) is recognised and changes nothing
            assert await deliver_refund(world, ingest, refund_body(order, 7101, "5.00", note="tradewire:x")) == "stored"
            return_id = shop.loop.create_returns(1, orders=[order], outcome="refund")[0]["id"]
            await shop.deliver(ingest, "return", "return.created", return_id)
            await world.settle(5)
            assert open_exceptions(world, "refund_without_return") == []
            [rma] = shop.rmas()
            assert rma["refund"] == {"ref": "7001", "origin": "channel", "amount": price}
            for line in rma["lines"]:
                shop.service().inspect(rma["id"], line_id=line["line_id"], received=1, disposition="restock")
            await world.settle(5 + len(rma["lines"]))
        [rma] = shop.rmas()
        assert rma["state"] == "closed"
        assert len(shop.credit_memos) == 1
        assert open_exceptions(world, "refund_not_supported") == []  # nothing asked Shopify to refund

    asyncio.run(main())
    skipped = [r for r in world.runs(flow="refund_sync") if r.last_error and "own refund" in r.last_error]
    assert len(skipped) == 1


def test_a_shopify_refund_after_the_return_is_noted_on_it(shop: Shop) -> None:
    world = shop.world
    order = world.new_order()

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            await world.deliver(ingest, order)
            return_id = shop.loop.create_returns(1, orders=[order], outcome="refund")[0]["id"]
            await shop.deliver(ingest, "return", "return.created", return_id)
            await world.settle(3)
            body = refund_body(order, 8001, str(order["line_items"][0]["price"]))
            await deliver_refund(world, ingest, body)
            await deliver_refund(world, ingest, body)  # a redelivery with a new event id
            await world.settle(6)

    asyncio.run(main())
    [rma] = shop.rmas()
    assert rma["refund"]["ref"] == "8001"
    assert rma["refund"]["origin"] == "channel"
    assert open_exceptions(world, "refund_without_return") == []
    assert [r.flow for r in world.runs(flow="return_refund")] == ["return_refund"]


def test_vendor_faults_never_post_twice(world: World) -> None:
    world.ns.set_knobs(FaultKnobs(fail_rate=0.25, timeout_rate=0.25, timeout_seconds=0.05, seed=11))
    shop = next(open_shop(world, walmart_knobs=FaultKnobs(fail_rate=0.3, seed=3)))
    order = shop.shipped_order()

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            shop.ingest_order(order)
            return_id = shop.loop_return(order)
            await shop.deliver(ingest, "return", "return.created", return_id)
            shop.loop.request_restock(return_id)
            await shop.deliver(ingest, "restock", "restock.requested", return_id)
            await world.wait_for(lambda: any(r["state"] == "received" for r in shop.rmas()), "the RMA to be received")
            [rma] = shop.rmas()
            for line in rma["lines"]:
                shop.service().inspect(rma["id"], line_id=line["line_id"], received=1, disposition="restock")
            await world.wait_for(lambda: shop.rmas()[0]["state"] == "closed", "the RMA to close", timeout=60)

    asyncio.run(main())
    [rma] = shop.rmas()
    assert shop.walmart_refunds(order["purchaseOrderId"]) == [f"tradewire:{rma['id']}"] * 2
    assert len(shop.credit_memos) == 1
    assert world.netsuite_server.app.state.netsuite_returns.transforms == 1
    shop.walmart_server.stop()
    shop.loop_server.stop()


def test_a_refund_made_by_hand_is_recorded_and_the_credit_memo_follows(shop: Shop) -> None:
    world = shop.world
    order = world.new_order()

    async def main() -> None:
        async with world.pipeline() as (ingest, _):
            await world.deliver(ingest, order)
            return_id = shop.loop.create_returns(1, orders=[order], outcome="refund")[0]["id"]
            await shop.deliver(ingest, "return", "return.created", return_id)
            await world.settle(3)
            [rma] = shop.rmas()
            recorded = shop.service().record_manual_refund(rma["id"], refund_ref="MANUAL-1")
            assert recorded["queued"]
            assert not shop.service().record_manual_refund(rma["id"], refund_ref="MANUAL-1")["queued"]
            await world.settle(4)
            with pytest.raises(Exception, match="second refund"):
                shop.service().record_manual_refund(rma["id"], refund_ref="MANUAL-2")
            for line in rma["lines"]:
                shop.service().inspect(rma["id"], line_id=line["line_id"], received=1, disposition="refurbish")
            await world.settle(4 + len(rma["lines"]))

    asyncio.run(main())
    [rma] = shop.rmas()
    assert rma["state"] == "closed"
    assert rma["refund"]["ref"] == "MANUAL-1"
    assert rma["refund"]["origin"] == "channel"
    assert len(shop.credit_memos) == 1
    assert {m[0] for m in shop.movements()} == {"refurbish"}
