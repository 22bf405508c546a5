"""The generated connector contract, run against the ShipStation sandbox, plus the whole SHIP_NOTIFY chain over TCP."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradewire.canonical import Address, Buyer, ExternalRef, FinancialStatus, Order, OrderLine
from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.connectors.base.contract import Call, ConnectorContract, PollWorld
from tradewire.connectors.base.sandbox import FaultKnobs, LoopbackServer
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.shipstation import SPEC
from tradewire.connectors.shipstation.client import ShipStationClient
from tradewire.connectors.shipstation.mapping import order_to_canonical, order_to_createorder, shipment_to_canonical
from tradewire.connectors.shipstation.sandbox import create_sandbox
from tradewire.connectors.shipstation.sandbox_store import SandboxOptions
from tradewire.connectors.shipstation.settings import ShipStationSecrets, ShipStationSettings
from tradewire.errors import WebhookRejected

BASE = "https://ssapi.shipstation.com"
TOKEN = "contract-token-0123456789abcdef"
CREDS = {"api_key": "ShipStation", "api_secret": "Rocks", "webhook_token": TOKEN}
CONNECTION = Connection(
    id="conn-c", client_id="client-c", system="shipstation", settings={"base_url": BASE}, secrets=CREDS
)
OPTIONS = SandboxOptions(webhook_retry_delays=[0.02], duplicate_delay_seconds=0.0)


def sandbox(knobs: FaultKnobs | None = None, **kwargs: Any) -> Starlette:
    kwargs.setdefault("options", OPTIONS)
    return create_sandbox(api_key="ShipStation", api_secret="Rocks", knobs=knobs or FaultKnobs(seed=7), **kwargs)


def client_for(app: Starlette, base_url: str = BASE, **secret_overrides: str) -> ShipStationClient:
    return ShipStationClient(
        ShipStationSettings(base_url=base_url, page_size=3),
        ShipStationSecrets.model_validate({**CREDS, **secret_overrides}),
        transport=httpx.ASGITransport(app=app),
    )


def order(n: int) -> Order:
    return Order(
        id=f"2b6f0c1e-9d8a-4f3b-a2c1-7e6d5c4b3a{n:02d}", client_id="client-c", number=f"#50{n:02d}", currency="USD",
        source=ExternalRef(system="shopify", connection_id="c1", object="order", external_id=f"50{n:02d}"),
        placed_at=datetime(2026, 11, 1, 8, 30, tzinfo=UTC), financial_status=FinancialStatus.PAID,
        customer=Buyer(email="ann@example.com", first_name="Ann", last_name="Lee"),
        lines=[
            OrderLine(line_id="a", sku="TSHIRT-BLK-M", title="T-shirt", quantity=3, unit_price=Decimal("25.00"),
                      total=Decimal("75.00")),
            OrderLine(line_id="b", sku="SOCKS-3PK", title="Socks", quantity=1, unit_price=Decimal("12.00"),
                      total=Decimal("12.00")),
        ],
        subtotal=Decimal("87.00"), discount_total=Decimal("5.00"), shipping_total=Decimal("6.95"),
        tax_total=Decimal("6.40"), total=Decimal("95.35"),
        shipping_address=Address(name="Ann Lee", line1="1 Main St", city="Austin", region="TX", postal_code="78701",
                                 country_code="US"),
    )  # fmt: skip


class Receiver:
    """A webhook endpoint that runs the real receiver checks (token, parse) and keeps what arrived."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[bytes, dict[str, str], dict[str, str]]] = []
        self.app = Starlette(routes=[Route("/webhooks/shipstation", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        body, headers, query = await request.body(), dict(request.headers), dict(request.query_params)
        assert SPEC.webhooks is not None
        try:
            SPEC.webhooks.verify(body, headers, CONNECTION, now=datetime.now(UTC), query=query)
        except WebhookRejected as exc:
            return JSONResponse({"detail": exc.message}, status_code=exc.status)
        self.deliveries.append((body, headers, query))
        return JSONResponse({})


def capture_deliveries(knobs: FaultKnobs) -> list[tuple[bytes, dict[str, str], dict[str, str]]]:
    receiver = Receiver()
    app = sandbox(knobs, webhook_transport=httpx.ASGITransport(app=receiver.app))
    state = app.state.shipstation
    state.subscribe(f"https://tradewire.example/webhooks/shipstation?token={TOKEN}", "SHIP_NOTIFY")
    state.upsert_order(order_to_createorder(order(1)))

    async def go() -> None:
        async with app.router.lifespan_context(app):
            state.ship_order(order(1).id)
            for _ in range(300):
                if state.sender.busy == 0:
                    return
                await asyncio.sleep(0.01)

    asyncio.run(go())
    return receiver.deliveries


class TestShipStationContract(ConnectorContract):
    spec = SPEC

    def poll_world(self) -> PollWorld | None:
        app = sandbox()
        state = app.state.shipstation
        for n in range(3):
            state.upsert_order(order_to_createorder(order(n)))
            state.ship_order(order(n).id, [[("a", 3)], [("b", 1)]], notify=False)
        return PollWorld(CONNECTION, httpx.ASGITransport(app=app), "shipments", 6)

    async def seed_and_read_all(self, count: int) -> tuple[set[str], list[str]] | None:
        app = sandbox()
        client = client_for(app)
        try:
            for n in range(count):
                await client.upsert_order(order_to_createorder(order(n)))
            seeded = {
                str(s["shipmentId"])
                for n in range(count)
                for s in app.state.shipstation.ship_order(order(n).id, notify=False)
            }
            read = [str(s.shipment_id) async for s in client.list_shipments(sort_by="CreateDate")]
        finally:
            await client.aclose()
        return seeded, read

    async def cursor_values(self) -> list[str] | None:
        now = [datetime(2026, 11, 1, 8, 0, tzinfo=UTC)]
        app = sandbox(clock=lambda: now[0])
        state = app.state.shipstation
        for n in range(7):
            state.upsert_order(order_to_createorder(order(n)))
            state.ship_order(order(n).id, [[("a", 3)], [("b", 1)]], notify=False)
            now[0] += timedelta(minutes=13)
        poller = SPEC.pollers[0].open(CONNECTION, UnlimitedBudget(), httpx.ASGITransport(app=app))
        try:
            cursors = [page.cursor async for page in poller.pages(None, now=now[0]) if page.cursor]
            again = [
                page.cursor
                async for page in poller.pages(cursors[-1], now=now[0] + timedelta(minutes=5))
                if page.cursor
            ]
        finally:
            await poller.aclose()
        return cursors + again

    def mapping_round_trips(self) -> list[tuple[object, object]]:
        canonical = order(1)
        back = order_to_canonical(order_to_createorder(canonical), client_id="client-c", connection_id="conn-c")
        app = sandbox()
        state = app.state.shipstation
        stored = state.upsert_order(order_to_createorder(canonical))
        shipments = [
            shipment_to_canonical(s, client_id="client-c", connection_id="conn-c")
            for s in state.ship_order(canonical.id, [[("a", 2)], [("a", 1), ("b", 1)]], notify=False)
        ]
        stored_back = order_to_canonical(stored, client_id="client-c", connection_id="conn-c")
        return [
            (canonical.id, back.id),
            (canonical.number, back.number),
            ((canonical.subtotal, canonical.discount_total, canonical.shipping_total, canonical.tax_total, canonical.total),
             (back.subtotal, back.discount_total, back.shipping_total, back.tax_total, back.total)),
            (canonical.total, stored_back.total),
            ([canonical.id, canonical.id], [s.order_external_id for s in shipments]),
            ([(x.sku, x.quantity) for x in canonical.lines],
             [("TSHIRT-BLK-M", sum(line.quantity for s in shipments for line in s.lines if line.sku == "TSHIRT-BLK-M")),
              ("SOCKS-3PK", sum(line.quantity for s in shipments for line in s.lines if line.sku == "SOCKS-3PK"))]),
        ]  # fmt: skip

    def call_with_knobs(self, knobs: FaultKnobs) -> Call:
        async def call() -> object:
            client = client_for(sandbox(knobs))
            try:
                return await client.orders_page()
            finally:
                await client.aclose()

        return call

    def call_rejected(self) -> Call:
        async def call() -> object:
            client = client_for(sandbox())
            try:
                return await client.upsert_order({**order_to_createorder(order(1)), "orderStatus": "misplaced"})
            finally:
                await client.aclose()

        return call

    def call_with_bad_credentials(self) -> Call:
        async def call() -> object:
            client = client_for(sandbox(), api_secret="Rolls")
            try:
                return await client.orders_page()
            finally:
                await client.aclose()

        return call

    def signed_delivery(self) -> tuple[bytes, dict[str, str], Connection] | None:
        body, headers, _ = capture_deliveries(FaultKnobs(seed=1))[0]
        return body, headers, CONNECTION

    def delivery_query(self) -> dict[str, str]:
        return {"token": TOKEN}

    def redelivery(self) -> tuple[dict[str, str], dict[str, str]] | None:
        deliveries = capture_deliveries(FaultKnobs(duplicate_webhook_rate=1.0, seed=1))
        assert len(deliveries) == 2
        assert deliveries[0][0] == deliveries[1][0]
        return deliveries[0][1], deliveries[1][1]

    def test_signed_webhook_verifies_and_tampering_is_refused(self) -> None:
        """ShipStation signs nothing: the URL's token is the proof, and a body naming another host is refused.

        Replaces the generic check, which sends no query string and expects a signature over the body.
        """
        body, headers, query = capture_deliveries(FaultKnobs(seed=1))[0]
        assert SPEC.webhooks is not None
        now = datetime.now(UTC)
        SPEC.webhooks.verify(body, headers, CONNECTION, now=now, query=query)
        assert SPEC.webhooks.parse(body, headers, CONNECTION, now=now, query=query).idempotency_key
        for bad_query in ({}, {"token": TOKEN[:-1] + "x"}):
            with pytest.raises(WebhookRejected) as caught:
                SPEC.webhooks.verify(body, headers, CONNECTION, now=now, query=bad_query)
            assert caught.value.status == 401
        tampered = body.replace(b"ssapi.shipstation.com", b"ssapi.shipstation.com.evil.example")
        with pytest.raises(WebhookRejected):
            SPEC.webhooks.parse(tampered, headers, CONNECTION, now=now, query=query)


def test_ship_notify_over_tcp_from_sandbox_to_receiver_and_back() -> None:
    """Sandbox and receiver on 127.0.0.1: subscribe, ship in two boxes, receive SHIP_NOTIFY, fetch, map."""
    receiver = Receiver()
    hooks = LoopbackServer(receiver.app).start()
    app = sandbox()
    api = LoopbackServer(app).start()
    app.state.shipstation.base_url = api.url
    settings = ShipStationSettings(base_url=api.url)
    connection = Connection(
        id="conn-c", client_id="client-c", system="shipstation", settings={"base_url": api.url}, secrets=CREDS
    )
    try:

        async def go() -> list[Any]:
            client = ShipStationClient(settings, ShipStationSecrets.model_validate(CREDS))
            try:
                await client.subscribe_webhook(f"{hooks.url}/webhooks/shipstation?token={TOKEN}")
                await client.upsert_order(order_to_createorder(order(2)))
                app.state.shipstation.ship_order(order(2).id, [[("a", 3)], [("b", 1)]])
                for _ in range(300):
                    if receiver.deliveries:
                        break
                    await asyncio.sleep(0.01)
                body, headers, query = receiver.deliveries[0]
                assert SPEC.webhooks is not None
                SPEC.webhooks.parse(body, headers, connection, now=datetime.now(UTC), query=query)
                return await client.fetch_ship_notify(json.loads(body)["resource_url"])
            finally:
                await client.aclose()

        fetched = asyncio.run(go())
    finally:
        api.stop()
        hooks.stop()
    shipments = [
        shipment_to_canonical(s.model_dump(by_alias=True), client_id="client-c", connection_id="conn-c")
        for s in fetched
    ]
    assert [(s.order_external_id, [(line.sku, line.quantity) for line in s.lines]) for s in shipments] == [
        (order(2).id, [("TSHIRT-BLK-M", 3)]),
        (order(2).id, [("SOCKS-3PK", 1)]),
    ]
