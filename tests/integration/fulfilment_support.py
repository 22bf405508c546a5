"""Shared parts of the fulfilment integration tests: a Walmart sandbox and connection, polling one stream."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tradewire.connectors import get_spec
from tradewire.connectors.amazon.sandbox import create_sandbox as create_amazon_sandbox
from tradewire.connectors.base.sandbox import LoopbackServer
from tradewire.connectors.walmart.sandbox import create_sandbox
from tradewire.runtime.dbthread import DbExecutor
from tradewire.services.demo_world import CATALOG
from tradewire.services.polling import PollingService, PollReport
from tradewire.tenancy.connections import ConnectionCache, resolve
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

if TYPE_CHECKING:
    from tests.integration.conftest import World

WALMART = {"client_id": "wm-" + secrets.token_hex(8), "client_secret": secrets.token_hex(24)}


def serve_walmart() -> Iterator[LoopbackServer]:
    """A Walmart sandbox on loopback for the length of a test (use it in a fixture with ``yield from``)."""
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


AMAZON = {
    "client_id": "amzn1.application-oa2-client." + secrets.token_hex(16),
    "client_secret": secrets.token_hex(32),
    "refresh_token": "Atzr|" + secrets.token_urlsafe(48),
}


SHIFT = [0.0]
"""Seconds added to the sandbox's clock (orders made in the past are visible to getOrders at once)."""


def serve_amazon() -> Iterator[LoopbackServer]:
    """An Amazon sandbox on loopback for the length of a test (use it in a fixture with ``yield from``)."""
    app = create_amazon_sandbox(**AMAZON, catalog=CATALOG, seed=3, clock=lambda: time.time() + SHIFT[0])
    server = LoopbackServer(app).start()
    yield server
    server.stop()


def amazon_connection(world: World, server: LoopbackServer, *, erp_id: str | None = None) -> str:
    """An Amazon connection routed to ``erp_id`` (default the world's NetSuite), invoicing on fulfilment."""
    box = SecretBox(world.settings.secret_key.get_secret_value())
    world.store.set_connection_status(world.shopify_id, "paused", "this test sells on Amazon")
    return world.store.create_connection(
        world.client_id,
        "amazon",
        "Amazon (sandbox)",
        {
            "seller_id": "A3TH9S8BH6GOGM",
            "marketplace_ids": ["ATVPDKIKX0DER"],
            "base_url": server.url,
            "token_url": f"{server.url}/auth/o2/token",
            "routes": {"erp": erp_id or world.netsuite_id},
            "invoicing": "on_fulfilment",
        },
        box.seal({**AMAZON, "relay_secret": secrets.token_urlsafe(16)}),
    )


def new_amazon_order(world: World, server: LoopbackServer) -> str:
    """A two-line Amazon order old enough for getOrders to list it; its AmazonOrderId."""
    SHIFT[0] = -600.0  # Amazon lists orders only once they are two minutes old
    try:
        (order_id,) = server.app.state.amazon.create_orders(1, lines=2)
    finally:
        SHIFT[0] = 0.0
    return str(order_id)
