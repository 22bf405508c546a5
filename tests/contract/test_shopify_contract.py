"""The generated connector contract, run against the Shopify sandbox."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from tradewire.connectors.base.contract import Call, ConnectorContract, PollWorld
from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.shopify import SPEC
from tradewire.connectors.shopify.client import ShopifyAdminClient
from tradewire.connectors.shopify.mapping import order_to_canonical, order_to_rest_payload
from tradewire.connectors.shopify.sandbox import create_sandbox
from tradewire.connectors.shopify.sandbox_shop import SandboxOptions

SECRET, TOKEN = "contract-secret", "shpat_contract"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "vendor" / "shopify_rest_orders_list.json"
CONNECTION = Connection(
    id="conn-contract",
    client_id="client-contract",
    system="shopify",
    settings={"shop_domain": "contract.myshopify.com", "base_url": "http://sandbox.test"},
    secrets={"client_secret": SECRET, "access_token": TOKEN},
)


def _sandbox(knobs: FaultKnobs | None = None) -> Any:
    assert SPEC.sandbox is not None
    return SPEC.sandbox(client_secret=SECRET, access_token=TOKEN, knobs=knobs, seed=11)


def _client(app: Any, token: str = TOKEN) -> ShopifyAdminClient:
    connection = Connection(
        id=CONNECTION.id,
        client_id=CONNECTION.client_id,
        system="shopify",
        settings=CONNECTION.settings,
        secrets={"client_secret": SECRET, "access_token": token},
    )
    return ShopifyAdminClient.from_connection(connection, transport=httpx.ASGITransport(app))


def _call(app: Any, token: str = TOKEN, *, action: str = "get") -> Call:
    async def call() -> object:
        async with _client(app, token) as client:
            if action == "subscribe":
                return await client.create_webhook_subscription("orders/create", "ftp://not-an-address")
            return await client.get_order(1)

    return call


class TestShopifyContract(ConnectorContract):
    spec = SPEC

    def poll_world(self) -> PollWorld | None:
        app = _sandbox()
        app.state.shop.create_orders(5)
        return PollWorld(CONNECTION, httpx.ASGITransport(app), "orders", 5)

    async def seed_and_read_all(self, count: int) -> tuple[set[str], list[str]] | None:
        app = _sandbox()
        seeded = {str(order["id"]) for order in app.state.shop.create_orders(count)}
        async with _client(app) as client:
            read = [o.legacy_resource_id async for page in client.list_orders(page_size=3) for o in page.orders]
        return seeded, read

    async def cursor_values(self) -> list[str] | None:
        app = _sandbox()
        shop = app.state.shop
        orders = shop.create_orders(6)
        shop.cancel_order(orders[1]["id"])
        async with _client(app) as client:
            return [o.updated_at.isoformat() async for page in client.list_orders(page_size=2) for o in page.orders]

    def mapping_round_trips(self) -> list[tuple[object, object]]:
        payloads = [json.loads(FIXTURE.read_text())["response_body"]["orders"][0]]
        payloads += _sandbox().state.shop.create_orders(20)
        pairs: list[tuple[object, object]] = []
        for payload in payloads:
            canonical = order_to_canonical(payload, client_id="client-contract", connection_id=CONNECTION.id)
            again = order_to_canonical(
                order_to_rest_payload(canonical), client_id="client-contract", connection_id=CONNECTION.id
            )
            pairs.append((canonical, again))
        return pairs

    def call_with_knobs(self, knobs: FaultKnobs) -> Call:
        return _call(_sandbox(knobs))

    def call_rejected(self) -> Call:
        return _call(_sandbox(), action="subscribe")

    def call_with_bad_credentials(self) -> Call:
        return _call(_sandbox(), token="shpat_revoked")

    def signed_delivery(self) -> tuple[bytes, dict[str, str], Connection] | None:
        sent = _deliveries(statuses=[200])
        body, headers = sent[0]
        return body, headers, CONNECTION

    def redelivery(self) -> tuple[dict[str, str], dict[str, str]] | None:
        sent = _deliveries(statuses=[503, 200])
        assert len(sent) == 2
        return sent[0][1], sent[1][1]


def _deliveries(statuses: list[int]) -> list[tuple[bytes, dict[str, str]]]:
    """What the sandbox really POSTs for one new order, answered with ``statuses`` in turn."""
    sent: list[tuple[bytes, dict[str, str]]] = []

    def receive(request: httpx.Request) -> httpx.Response:
        sent.append((request.content, dict(request.headers)))
        return httpx.Response(statuses[min(len(sent), len(statuses)) - 1])

    app = create_sandbox(
        client_secret=SECRET,
        access_token=TOKEN,
        seed=5,
        options=SandboxOptions(webhook_retry_delays=[0.01]),
        webhook_transport=httpx.MockTransport(receive),
    )
    shop = app.state.shop
    shop.subscribe("orders/create", "https://receiver.test/webhooks/shopify/conn-contract")

    async def main() -> None:
        async with app.router.lifespan_context(app):
            shop.create_orders(1)
            for _ in range(500):
                if not shop.sender.busy:
                    break
                await asyncio.sleep(0.01)

    asyncio.run(main())
    return sent
