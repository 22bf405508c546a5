"""Shopify's write capabilities (SPEC shipment_sink, inventory_publisher, refund_sink) over real TCP.

The sandbox runs on loopback with faults on; each write is retried the way the runtime retries a
step (on retryable errors only) and must land exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from tradewire.canonical import InventoryLevel, Return, Shipment
from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.connectors.base.sandbox import FaultKnobs, LoopbackServer
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.shopify import SPEC
from tradewire.connectors.shopify.mapping import order_to_canonical
from tradewire.connectors.shopify.sandbox import create_sandbox
from tradewire.connectors.shopify.sandbox_shop import SandboxOptions
from tradewire.errors import RetryableError, VendorRateLimited

T = TypeVar("T")
SECRET, TOKEN = "contract-secret", "shpat_contract"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def connection(url: str) -> Connection:
    settings = {"shop_domain": "contract.myshopify.com", "base_url": url}
    return Connection(
        "conn-writes", "client-contract", "shopify", settings, {"client_secret": SECRET, "access_token": TOKEN}
    )


async def retried(call: Callable[[], Awaitable[T]], attempts: int = 30) -> tuple[T, int]:
    """Call until it does not raise a retryable error; return the result and the number of failures."""
    for failures in range(attempts):
        try:
            return await call(), failures
        except RetryableError:
            await asyncio.sleep(0.01)
    raise AssertionError(f"still failing after {attempts} attempts")


def test_writes_land_once_through_faults_and_retries() -> None:
    app = create_sandbox(
        client_secret=SECRET,
        access_token=TOKEN,
        seed=21,
        knobs=FaultKnobs(fail_rate=0.3, seed=21),
        options=SandboxOptions(initial_available=3),
    )
    shop = app.state.shop
    rest = next(o for o in shop.create_orders(10) if o["financial_status"] == "paid")
    order = order_to_canonical(rest, client_id="client-contract", connection_id="conn-writes")
    line = order.lines[0]
    shipment = Shipment.model_validate(
        {"id": "shp-tcp", "client_id": "client-contract", "order_number": order.number, "shipped_at": NOW,
         "source": {"system": "shipstation", "connection_id": "ss", "object": "shipment", "external_id": "s1"},
         "carrier": "UPS", "tracking_number": "1ZTCP", "lines": [{"order_line_id": line.line_id, "quantity": 1}]}
    )  # fmt: skip
    ret = Return.model_validate(
        {"id": "ret-tcp", "client_id": "client-contract", "order_number": order.number, "created_at": NOW,
         "source": {"system": "loop", "connection_id": "loop", "object": "return", "external_id": "r1"},
         "currency": order.currency, "refund_total": "5.00",
         "lines": [{"line_id": "l1", "order_line_id": line.line_id, "quantity": 1, "refund_amount": "5.00",
                    "disposition": "restock"}]}
    )  # fmt: skip
    levels = [
        InventoryLevel(client_id="client-contract", sku=sku, available=n, as_of=NOW)
        for sku, n in [("TEE-BLK-M", 11), ("CAP-NVY", 0)]
    ]
    server = LoopbackServer(app).start()
    try:
        conn = connection(server.url)
        assert SPEC.shipment_sink is not None
        assert SPEC.refund_sink is not None
        assert SPEC.inventory_publisher is not None

        async def go() -> tuple[list[str], list[str], list[Any], int]:
            shipments = SPEC.shipment_sink(conn, UnlimitedBudget(), None)
            refunds = SPEC.refund_sink(conn, UnlimitedBudget(), None)
            publisher = SPEC.inventory_publisher(conn, UnlimitedBudget(), None)
            failures = 0
            try:
                fulfilments, refunded, outcomes = [], [], []
                for _ in range(2):  # the step runs again (a replay): nothing new may be created
                    made, f1 = await retried(
                        lambda: shipments.confirm_shipment(shipment, order=order, order_ref=str(rest["id"]))
                    )
                    refund, f2 = await retried(lambda: refunds.refund(ret, order=order, order_ref=str(rest["id"])))
                    published, f3 = await retried(lambda: publisher.publish(levels))
                    fulfilments.append(made)
                    refunded.append(refund)
                    outcomes.append(published)
                    failures += f1 + f2 + f3
                return fulfilments, refunded, outcomes, failures
            finally:
                for closable in (shipments, refunds, publisher):
                    await closable.aclose()

        fulfilments, refunded, outcomes, failures = asyncio.run(go())
    finally:
        server.stop()
    assert failures > 0, "the fault knobs must have been exercised"
    assert len(set(fulfilments)) == 1
    assert len(set(refunded)) == 1
    stored = shop.get_order(rest["id"])
    assert len(stored["fulfillments"]) == 1
    assert stored["fulfillments"][0]["tracking_number"] == "1ZTCP"
    assert len(stored["refunds"]) == 1
    assert all(o.accepted for batch in outcomes for o in batch)
    assert shop.stock.level("TEE-BLK-M").available == 11
    assert shop.stock.level("CAP-NVY").available == 0


def test_a_throttled_write_is_retryable_with_the_buckets_wait() -> None:
    app = create_sandbox(client_secret=SECRET, access_token=TOKEN, seed=3)
    app.state.shop.bucket.set_available(0)
    conn = connection("http://sandbox.test")
    assert SPEC.inventory_publisher is not None
    publisher = SPEC.inventory_publisher(conn, UnlimitedBudget(), httpx.ASGITransport(app))
    level = InventoryLevel(client_id="c", sku="CAP-NVY", available=4, as_of=NOW)

    async def go() -> VendorRateLimited:
        try:
            await publisher.publish([level])
        except VendorRateLimited as exc:
            return exc
        finally:
            await publisher.aclose()
        raise AssertionError("expected THROTTLED")

    error = asyncio.run(go())
    assert error.retry_after is not None
    assert error.retry_after > 0
    assert app.state.shop.stock.level("CAP-NVY").available == 0
