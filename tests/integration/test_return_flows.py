"""Returns end to end through real sandboxes and a real store (SQLite and PostgreSQL).

A Walmart order reaches NetSuite; Loop announces a return of it; the operator inspects the lines;
the worker refunds on Walmart, books a return authorisation + credit memo in NetSuite and records
the restock. Duplicates, out-of-order events and replays never post twice.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from conftest import World
from tradewire.connectors.base.auth import hmac_sha256_base64
from tradewire.connectors.base.sandbox import LoopbackServer
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.loop.sandbox import create_sandbox as create_loop
from tradewire.connectors.walmart.poller import polled_event
from tradewire.connectors.walmart.refunds import refund_comments
from tradewire.connectors.walmart.sandbox import create_sandbox as create_walmart
from tradewire.connectors.walmart.schemas import WalmartOrder
from tradewire.runtime.store.port_facts import ExceptionFilter
from tradewire.runtime.store.tables import stock_movements
from tradewire.services.demo_world import CATALOG
from tradewire.services.ingest import WebhookIngest, inbound_item
from tradewire.services.returns import Returns
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox


@dataclass
class Shop:
    """The world plus a Walmart channel and a Loop account routed to its NetSuite."""

    world: World
    walmart_server: LoopbackServer
    walmart_id: str
    loop_server: LoopbackServer
    loop_id: str
    loop_secret: str

    @property
    def walmart(self) -> Any:
        return self.walmart_server.app.state.walmart

    @property
    def loop(self) -> Any:
        return self.loop_server.app.state.loop

    @property
    def credit_memos(self) -> list[dict[str, Any]]:
        memos: list[dict[str, Any]] = self.world.netsuite_server.app.state.netsuite_returns.credit_memos()
        return memos

    def service(self) -> Returns:
        return Returns(self.world.store, self.world.client_id, actor="test")

    def shipped_order(self) -> dict[str, Any]:
        """A two-line Walmart PO, shipped in full."""
        order = self.walmart.create_orders(1, lines=2)[0]
        lines = []
        for line in order["orderLines"]["orderLine"]:
            status = {"status": "Shipped", "statusQuantity": {"unitOfMeasurement": "EACH", "amount": line["orderLineQuantity"]["amount"]},
                      "trackingInfo": {"shipDateTime": 1, "carrierName": {"carrier": "UPS"}, "trackingNumber": "1Z999"}}  # fmt: skip
            lines.append({"lineNumber": line["lineNumber"], "orderLineStatuses": {"orderLineStatus": [status]}})
        body = {"orderShipment": {"orderLines": {"orderLine": lines}}}
        return dict(self.walmart.update_lines(order["purchaseOrderId"], "shipping", body))

    def ingest_order(self, order: dict[str, Any]) -> None:
        """Store the PO as the poller would (message + runs in one transaction)."""
        connection = Connection(self.walmart_id, self.world.client_id, "walmart", {}, {})
        event = polled_event(WalmartOrder.model_validate(order), connection)
        self.world.store.ingest(
            [inbound_item("walmart", connection, event, json.dumps(order).encode(), {}, datetime.now(UTC))]
        )

    def loop_return(self, order: dict[str, Any]) -> int:
        """A Loop return of one unit of each PO line."""
        items = []
        for index, line in enumerate(order["orderLines"]["orderLine"]):
            unit = Decimal(str(line["charges"]["charge"][0]["chargeAmount"]["amount"])) / int(
                line["orderLineQuantity"]["amount"]
            )
            items.append({"line_item_id": 5000 + index, "provider_line_item_id": line["lineNumber"], "sku": line["item"]["sku"],
                          "title": line["item"].get("productName", ""), "price": str(unit.quantize(Decimal("0.01"))),
                          "discount": "0.00", "tax": "0.00", "refund": str(unit.quantize(Decimal("0.01"))),
                          "returned_at": None, "reason": "Too small"})  # fmt: skip
        record = self.loop.add_return({"order_name": order["customerOrderId"], "provider_order_id": order["purchaseOrderId"],
                                       "currency": "USD", "outcome": "refund", "line_items": items})  # fmt: skip
        return int(record["id"])

    async def deliver(
        self, ingest: WebhookIngest, topic: str, trigger: str, return_id: int, body: bytes | None = None
    ) -> str:
        """Deliver one signed Loop webhook (the current state of the return unless ``body`` is given)."""
        body = body if body is not None else self.loop.webhook_body(topic, trigger, return_id)
        headers = {"Content-Type": "application/json", "X-Loop-Signature": hmac_sha256_base64(self.loop_secret, body)}
        accepted = await ingest.receive("loop", self.loop_id, body, headers)
        return accepted.status

    def rmas(self) -> list[dict[str, Any]]:
        return self.service().list()

    def movements(self) -> list[tuple[str, str, int]]:
        engine = self.world.store.engine  # type: ignore[attr-defined]
        with engine.connect() as conn:
            rows = conn.execute(select(stock_movements).where(stock_movements.c.client_id == self.world.client_id))
            return sorted((r.kind, r.sku, r.quantity) for r in rows)

    def walmart_refunds(self, po: str) -> list[str]:
        order = WalmartOrder.model_validate(self.walmart.get_order(po))
        return [refund_comments(line) for line in order.order_lines.order_line if refund_comments(line)]


@pytest.fixture
def shop(world: World) -> Iterator[Shop]:
    box = SecretBox(world.settings.secret_key.get_secret_value())
    wm_creds = {"client_id": secrets.token_hex(8), "client_secret": secrets.token_hex(16)}
    walmart = LoopbackServer(create_walmart(catalog=CATALOG, seed=5, **wm_creds)).start()
    walmart_id = world.store.create_connection(
        world.client_id, "walmart", "Walmart (sandbox)", {"base_url": walmart.url, "routes": {"erp": world.netsuite_id}},
        box.seal(wm_creds),
    )  # fmt: skip
    loop_creds = {"api_key": secrets.token_hex(12), "webhook_secret": secrets.token_hex(16)}
    loop = LoopbackServer(create_loop(seed=5, **loop_creds)).start()
    loop_id = world.store.create_connection(
        world.client_id, "loop", "Loop (sandbox)", {"base_url": f"{loop.url}/api/v1"}, box.seal(loop_creds)
    )
    yield Shop(world, walmart, walmart_id, loop, loop_id, loop_creds["webhook_secret"])
    walmart.stop()
    loop.stop()


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


def open_exceptions(world: World, kind: str) -> list[Any]:
    with client_scope(world.client_id):
        return world.store.list_exceptions(ExceptionFilter(kind=kind))
