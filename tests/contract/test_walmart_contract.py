"""The generated connector contract, run against the Walmart sandbox.

The signed-delivery checks use the HMAC auth method, the only one of Walmart's three that signs
the body (BASIC_AUTH and OAUTH authenticate the sender; see tests/unit/connectors/walmart).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tradewire.canonical import InventoryLevel
from tradewire.connectors.base.contract import Call, ConnectorContract, PollWorld
from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.walmart import SPEC
from tradewire.connectors.walmart.client import WalmartClient
from tradewire.connectors.walmart.mapping import inventory_to_canonical, inventory_to_walmart, order_to_canonical
from tradewire.connectors.walmart.poller import open_orders_poller
from tradewire.connectors.walmart.sandbox import create_sandbox
from tradewire.connectors.walmart.sandbox_store import SandboxOptions

CLIENT_ID, CLIENT_SECRET, HMAC_SECRET = "contract-id", "contract-secret", "contract-hmac"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"
CONNECTION = Connection(
    id="conn-contract",
    client_id="client-contract",
    system="walmart",
    settings={"base_url": "http://sandbox.test", "page_size": 3, "webhook_auth_method": "HMAC"},
    secrets={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "webhook_hmac_secret": HMAC_SECRET},
)


def _sandbox(knobs: FaultKnobs | None = None) -> Any:
    assert SPEC.sandbox is not None
    return SPEC.sandbox(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, knobs=knobs, seed=11)


def _client(app: Any, secret: str = CLIENT_SECRET) -> WalmartClient:
    connection = Connection(
        id=CONNECTION.id,
        client_id=CONNECTION.client_id,
        system="walmart",
        settings=CONNECTION.settings,
        secrets={"client_id": CLIENT_ID, "client_secret": secret},
    )
    return WalmartClient.from_connection(connection, transport=httpx.ASGITransport(app))


def _call(app: Any, secret: str = CLIENT_SECRET, *, action: str = "get") -> Call:
    async def call() -> object:
        async with _client(app, secret) as client:
            if action == "reject":
                return await client.update_inventory("", 5)
            return await client.orders_page()

    return call


class TestWalmartContract(ConnectorContract):
    spec = SPEC

    def poll_world(self) -> PollWorld | None:
        app = _sandbox()
        app.state.walmart.create_orders(5)
        return PollWorld(CONNECTION, httpx.ASGITransport(app), "orders", 5)

    async def seed_and_read_all(self, count: int) -> tuple[set[str], list[str]] | None:
        app = _sandbox()
        seeded = {order["purchaseOrderId"] for order in app.state.walmart.create_orders(count)}
        async with _client(app) as client:
            read = [o.purchase_order_id async for page in client.iter_order_pages() for o in page.orders]
        return seeded, read

    async def cursor_values(self) -> list[str] | None:
        app = _sandbox()
        app.state.walmart.create_orders(7)
        poller = open_orders_poller(CONNECTION, _unlimited(), httpx.ASGITransport(app))
        values: list[str] = []
        cursor: str | None = None
        try:
            for _ in range(3):
                async for page in poller.pages(cursor, now=datetime.now(UTC)):
                    if page.cursor is not None:
                        cursor = page.cursor
                        values.append(page.cursor)
        finally:
            await poller.aclose()
        return values

    def mapping_round_trips(self) -> list[tuple[object, object]]:
        pairs: list[tuple[object, object]] = []
        for sku, amount in (("test1", 10), ("97964_KFTest", 0), ("WM-MUG-11OZ", 250)):
            level = inventory_to_canonical(
                {"sku": sku, "quantity": {"unit": "EACH", "amount": amount}},
                client_id="client-contract",
                connection_id=CONNECTION.id,
            )
            again = inventory_to_canonical(
                inventory_to_walmart(level), client_id="client-contract", connection_id=CONNECTION.id
            )
            pairs.append((level, again))
            assert isinstance(again, InventoryLevel)
        listing = json.loads((FIXTURES / "walmart_getAllOrders_response.json").read_text())
        for element in listing["list"]["elements"]["order"]:
            wrapped = order_to_canonical({"order": element}, client_id="c", connection_id=CONNECTION.id)
            pairs.append((order_to_canonical(element, client_id="c", connection_id=CONNECTION.id), wrapped))
        return pairs

    def call_with_knobs(self, knobs: FaultKnobs) -> Call:
        return _call(_sandbox(knobs))

    def call_rejected(self) -> Call:
        return _call(_sandbox(), action="reject")

    def call_with_bad_credentials(self) -> Call:
        return _call(_sandbox(), secret="wrong-secret")

    def signed_delivery(self) -> tuple[bytes, dict[str, str], Connection] | None:
        body, headers = _deliveries(statuses=[200])[0]
        return body, headers, CONNECTION

    def redelivery(self) -> tuple[dict[str, str], dict[str, str]] | None:
        sent = _deliveries(statuses=[503, 200])
        assert len(sent) == 2
        assert sent[0][0] == sent[1][0]
        return sent[0][1], sent[1][1]


def _unlimited() -> Any:
    from tradewire.connectors.base.budget import UnlimitedBudget

    return UnlimitedBudget()


def _deliveries(statuses: list[int]) -> list[tuple[bytes, dict[str, str]]]:
    """What the sandbox really POSTs for one new order (HMAC subscription), answered with ``statuses``."""
    sent: list[tuple[bytes, dict[str, str]]] = []

    def receive(request: httpx.Request) -> httpx.Response:
        sent.append((request.content, dict(request.headers)))
        return httpx.Response(statuses[min(len(sent), len(statuses)) - 1])

    app = create_sandbox(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        seed=5,
        options=SandboxOptions(webhook_retry_delays=[0.01]),
        webhook_transport=httpx.MockTransport(receive),
    )
    walmart = app.state.walmart
    walmart.subscribe(
        "PO_CREATED",
        f"https://receiver.test/webhooks/walmart/{CONNECTION.id}",
        auth_details={"authMethod": "HMAC", "clientSecret": HMAC_SECRET},
    )

    async def main() -> None:
        async with app.router.lifespan_context(app):
            walmart.create_orders(1)
            for _ in range(500):
                if not walmart.sender.busy:
                    break
                await asyncio.sleep(0.01)

    asyncio.run(main())
    return sent
