"""The generated connector contract, run against the Amazon SP-API sandbox."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest

from tradewire.canonical import ExternalRef, InventoryLevel, Shipment, ShipmentLine
from tradewire.connectors.amazon import SPEC
from tradewire.connectors.amazon.client import AmazonClient
from tradewire.connectors.amazon.mapping import order_to_canonical
from tradewire.connectors.amazon.mapping_outbound import inventory_to_listings_patch, shipment_to_confirm_shipment
from tradewire.connectors.amazon.poller import AmazonOrdersPoller
from tradewire.connectors.amazon.sandbox import create_sandbox
from tradewire.connectors.amazon.settings import AmazonSecrets, AmazonSettings
from tradewire.connectors.base.contract import Call, ConnectorContract, PollWorld
from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.base.spec import Connection
from tradewire.errors import WebhookRejected

CREDS = {
    "client_id": "amzn1.application-oa2-client.contract",
    "client_secret": "lwa-contract",
    "refresh_token": "Atzr|c",
}
SELLER = "A3TH9S8BH6GOGM"
BASE = "http://sandbox.contract"
RELAY_SECRET = "relay-contract"
SETTINGS = AmazonSettings(seller_id=SELLER, base_url=BASE, token_url=f"{BASE}/auth/o2/token", page_size=3)
CONNECTION = Connection(id="conn-amz", client_id="client-1", system="amazon", settings=SETTINGS.model_dump(),
                        secrets={**CREDS, "relay_secret": RELAY_SECRET})  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def sandbox(knobs: FaultKnobs | None = None, clock: Clock | None = None) -> Any:
    return create_sandbox(
        **CREDS, seller_id=SELLER, knobs=knobs or FaultKnobs(seed=11), clock=clock or time.time, seed=11
    )


def client_for(app: Any, **secrets: str) -> AmazonClient:
    return AmazonClient(
        SETTINGS, AmazonSecrets.model_validate({**CREDS, **secrets}), transport=httpx.ASGITransport(app=app)
    )


def sample_order() -> dict[str, Any]:
    app = sandbox()
    [order_id] = app.state.amazon.create_orders(1, lines=3)
    return {**app.state.amazon.get_order(order_id), "OrderItems": app.state.amazon.get_items(order_id)}


class TestAmazonContract(ConnectorContract):
    spec = SPEC

    def poll_world(self) -> PollWorld | None:
        lag = [900.0]  # orders are made 15 minutes ago, older than the poller's settle window

        def clock() -> float:
            return time.time() - lag[0]

        app = create_sandbox(**CREDS, seller_id=SELLER, knobs=FaultKnobs(seed=11), clock=clock, seed=11)
        app.state.amazon.create_orders(5)
        lag[0] = 0.0  # then the sandbox's time is the real time, like the poller's
        return PollWorld(CONNECTION, httpx.ASGITransport(app=app), "orders", 5)

    async def seed_and_read_all(self, count: int) -> tuple[set[str], list[str]] | None:
        clock = Clock()
        app = sandbox(clock=clock)
        seeded = set(app.state.amazon.create_orders(count))
        clock.now += 600
        client = client_for(app)
        try:
            after = datetime.now(UTC) - timedelta(days=1)
            read = [o["AmazonOrderId"] async for page in client.iter_orders(last_updated_after=after, last_updated_before=None)
                    for o in page.orders]  # fmt: skip
        finally:
            await client.aclose()
        return seeded, read

    async def cursor_values(self) -> list[str] | None:
        clock = Clock()
        app = sandbox(clock=clock)
        poller = AmazonOrdersPoller(client_for(app), connection_id=CONNECTION.id)
        cursor: str | None = None
        values: list[str] = []
        try:
            for _ in range(4):
                app.state.amazon.create_orders(4)
                clock.now += 300
                async for page in poller.pages(cursor, now=datetime.fromtimestamp(clock.now, UTC)):
                    if page.cursor is not None:
                        cursor = page.cursor
                        values.append(page.cursor)
        finally:
            await poller.aclose()
        return values

    def mapping_round_trips(self) -> list[tuple[object, object]]:
        vendor = sample_order()
        order = order_to_canonical(vendor, client_id="client-1", connection_id=CONNECTION.id)
        cent = Decimal("0.01")
        shipment = Shipment(
            id="6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", client_id="client-1", order_number=order.number,
            source=ExternalRef(system="wms", connection_id="w1", object="shipment", external_id="PKG-1"),
            shipped_at=datetime(2026, 11, 23, 9, 30, tzinfo=UTC), carrier="UPS", tracking_number="1Z999",
            lines=[ShipmentLine(sku=line.sku, quantity=line.quantity, order_line_id=line.line_id) for line in order.lines],
        )  # fmt: skip
        body = shipment_to_confirm_shipment(shipment, marketplace_id="ATVPDKIKX0DER")
        level = InventoryLevel(client_id="client-1", sku="CAP-NAVY", available=17, as_of=datetime.now(UTC))
        patch = inventory_to_listings_patch(level)
        return [
            (
                [(i["OrderItemId"], i["SellerSKU"], i["QuantityOrdered"], i["ItemPrice"]["Amount"]) for i in vendor["OrderItems"]],
                [(line.line_id, line.sku, line.quantity,
                  str((line.unit_price * line.quantity).quantize(cent, ROUND_HALF_UP))) for line in order.lines],
            ),
            (vendor["OrderTotal"]["Amount"], format(order.total.quantize(cent), "f")),
            ([(i["OrderItemId"], i["QuantityOrdered"]) for i in vendor["OrderItems"]],
             [(i["orderItemId"], i["quantity"]) for i in body["packageDetail"]["orderItems"]]),
            (level.available, patch["patches"][0]["value"][0]["quantity"]),
        ]  # fmt: skip

    def call_with_knobs(self, knobs: FaultKnobs) -> Call:
        async def call() -> object:
            app = sandbox(knobs)
            [order_id] = app.state.amazon.create_orders(1)
            client = client_for(app)
            try:
                return await client.get_order(order_id)
            finally:
                await client.aclose()

        return call

    def call_rejected(self) -> Call:
        async def call() -> object:
            app = sandbox()
            [order_id] = app.state.amazon.create_orders(1)
            client = client_for(app)
            # Amazon takes only positive numeric packageReferenceIds: 400 InvalidInput.
            body = {"marketplaceId": "ATVPDKIKX0DER", "packageDetail": {"packageReferenceId": "PKG-A",
                    "carrierCode": "UPS", "shipDate": "2026-11-23T09:30:00.000Z", "orderItems": []}}  # fmt: skip
            try:
                await client.confirm_shipment(order_id, body)
                return None
            finally:
                await client.aclose()

        return call

    def call_with_bad_credentials(self) -> Call:
        async def call() -> object:
            client = client_for(sandbox(), refresh_token="Atzr|revoked")
            try:
                return await client.get_order("111-0000000-0000000")
            finally:
                await client.aclose()

        return call

    def signed_delivery(self) -> tuple[bytes, dict[str, str], Connection] | None:
        app = sandbox()
        store = app.state.amazon
        store.subscribe("http://receiver.test/amazon", RELAY_SECRET)
        [order_id] = store.create_orders(1)
        [delivery] = store.sender.log
        assert delivery.object_id == order_id
        return delivery.body, dict(delivery.headers), CONNECTION

    def redelivery(self) -> tuple[dict[str, str], dict[str, str]] | None:
        # The relay re-sends a message it could not hand over with the very same body and headers.
        delivery = self.signed_delivery()
        assert delivery is not None
        return delivery[1], dict(delivery[1])

    def test_signed_webhook_verifies_and_tampering_is_refused(self) -> None:
        """Amazon signs nothing (IAM guards its queue/bus) and an EventBridge API destination cannot sign a body,
        so the relay authenticates with a shared-secret header: without it or with another secret → 401.
        Body integrity rests on TLS between the relay and Tradewire (docs/connectors/amazon.md)."""
        delivery = self.signed_delivery()
        assert delivery is not None
        assert SPEC.webhooks is not None
        body, headers, connection = delivery
        now = datetime.now(UTC)
        SPEC.webhooks.verify(body, headers, connection, now=now)
        assert SPEC.webhooks.parse(body, headers, connection, now=now).idempotency_key
        header = SETTINGS.relay_header
        for bad in ({k: v for k, v in headers.items() if k.lower() != header}, {**headers, header: RELAY_SECRET + "x"}):
            with pytest.raises(WebhookRejected) as caught:
                SPEC.webhooks.verify(body, bad, connection, now=now)
            assert caught.value.status == 401
