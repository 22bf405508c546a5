"""The generated connector contract, run against the Business Central sandbox."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.connectors.base.contract import Call, ConnectorContract, PollWorld
from tradewire.connectors.base.sandbox import FaultKnobs
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.businesscentral import SPEC
from tradewire.connectors.businesscentral.mapping import order_to_sales_order, sales_order_to_order
from tradewire.errors import WebhookRejected

# The unit tests' helpers (sandbox, settings, sample order) live beside them; share rather than copy.
sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "connectors" / "businesscentral"))

from bc_helpers import (
    CLIENT_STATE,
    COMPANY,
    CREDS,
    CUSTOMER,
    client_for,
    connection,
    make_app,
    order,
    settings,
    sink_for,
)


def _captured_delivery() -> tuple[bytes, dict[str, str]]:
    """One notification exactly as the sandbox sends it (subscription, change, flush)."""
    captured: list[tuple[bytes, dict[str, str]]] = []

    async def hook(request: Request) -> Response:
        token = request.query_params.get("validationToken")
        if token:
            return PlainTextResponse(token)
        captured.append((await request.body(), {k.lower(): v for k, v in request.headers.items()}))
        return Response(status_code=202)

    receiver = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    app = make_app(webhook_transport=httpx.ASGITransport(app=receiver))

    async def go() -> None:
        async with app.router.lifespan_context(app):
            client = client_for(app)
            try:
                await client.create_subscription(notification_url="http://receiver/hook",
                                                 resource=f"/api/v2.0/companies({COMPANY})/customers",
                                                 client_state=CLIENT_STATE)  # fmt: skip
                await client.create_customer({"displayName": "Ann"})
            finally:
                await client.aclose()
            app.state.businesscentral.flush_notifications()
            deadline = time.monotonic() + 5
            while not captured and time.monotonic() < deadline:
                await asyncio.sleep(0.01)

    asyncio.run(go())
    return captured[0]


class TestBusinessCentralContract(ConnectorContract):
    spec = SPEC

    def poll_world(self) -> PollWorld | None:
        app = make_app()

        async def ship_three() -> None:
            sink = sink_for(app)
            try:
                customer = await sink.upsert_customer(CUSTOMER)
                items = await sink.resolve_items(["cap-navy"])
                for n in range(3):
                    the_order = order(f"#{n}", order_id=f"00000000-0000-4000-8000-00000000010{n}")
                    ref = await sink.upsert_sales_order(the_order, customer_ref=customer, item_refs=items)
                    app.state.businesscentral.ship_and_invoice(ref)
            finally:
                await sink.aclose()

        asyncio.run(ship_three())
        return PollWorld(connection(), httpx.ASGITransport(app=app), "shipments", 3)

    def poll_worlds(self) -> list[PollWorld]:
        shipments = self.poll_world()
        assert shipments is not None
        app = make_app()
        # The first inventory poll is a full snapshot: the on hand of every inventory item.
        items = len(app.state.businesscentral.item_ids())
        return [shipments, PollWorld(connection(), httpx.ASGITransport(app=app), "inventory", items)]

    async def seed_and_read_all(self, count: int) -> tuple[set[str], list[str]] | None:
        client = client_for(make_app(), page_size=3)
        try:
            seeded = {(await client.create_customer({"displayName": f"C{n}"})).id for n in range(count)}
            read = [row["id"] for row in await client.list_all(client.company("customers"), what="customers")]
        finally:
            await client.aclose()
        return seeded, read

    async def cursor_values(self) -> list[str] | None:
        app = make_app()
        sink = sink_for(app)
        try:
            customer = await sink.upsert_customer(CUSTOMER)
            items = await sink.resolve_items(["cap-navy"])
            for n in range(5):
                the_order = order(f"#{n}", order_id=f"00000000-0000-4000-8000-00000000000{n}")
                ref = await sink.upsert_sales_order(the_order, customer_ref=customer, item_refs=items)
                app.state.businesscentral.ship_and_invoice(ref)
        finally:
            await sink.aclose()
        stream = next(s for s in SPEC.pollers if s.name == "shipments")
        poller = stream.open(connection(page_size=2), UnlimitedBudget(), httpx.ASGITransport(app=app))
        try:
            return [page.cursor async for page in poller.pages(None, now=datetime.now(UTC)) if page.cursor]
        finally:
            await poller.aclose()

    def mapping_round_trips(self) -> list[tuple[object, object]]:
        original = order(shipping="6.95", extra_line=True)
        body = order_to_sales_order(original, customer_ref="c", item_refs={"cap-navy": "i1", "SOCKS-3PK": "i2"},
                                    settings=settings())  # fmt: skip
        numbers = {"i1": "CAP-NAVY", "i2": "SOCKS-3PK"}
        lines = [{**ln, "lineObjectNumber": numbers.get(ln.get("itemId", ""), ln.get("lineObjectNumber"))}
                 for ln in body["salesOrderLines"]]  # fmt: skip
        back = sales_order_to_order({**body, "id": "so", "number": "S1", "currencyCode": "USD", "salesOrderLines": lines},
                                    client_id="c1", connection_id="bc")  # fmt: skip
        return [
            (original.total, back.total),
            (original.shipping_total, back.shipping_total),
            ([(ln.sku or "").upper() for ln in original.lines], [ln.sku for ln in back.lines]),
            ([ln.quantity for ln in original.lines], [ln.quantity for ln in back.lines]),
            (Decimal("0"), back.tax_total),
        ]

    def call_with_knobs(self, knobs: FaultKnobs) -> Call:
        app = make_app(knobs)

        async def call() -> object:
            client = client_for(app)
            try:
                return await client.companies()
            finally:
                await client.aclose()

        return call

    def call_rejected(self) -> Call:
        async def call() -> object:
            client = client_for(make_app())
            try:
                return await client.create_sales_order({"customerNumber": "NOBODY"})
            finally:
                await client.aclose()

        return call

    def call_with_bad_credentials(self) -> Call:
        async def call() -> object:
            client = client_for(make_app(), secrets={"client_secret": "not-the-secret"})
            try:
                return await client.companies()
            finally:
                await client.aclose()

        return call

    def signed_delivery(self) -> tuple[bytes, dict[str, str], Connection] | None:
        body, headers = _captured_delivery()
        return body, headers, connection()

    def redelivery(self) -> tuple[dict[str, str], dict[str, str]] | None:
        _, headers = _captured_delivery()
        return headers, dict(headers)

    def test_signed_webhook_verifies_and_tampering_is_refused(self) -> None:
        """BC signs nothing: each notification's clientState is the credential (no header to strip)."""
        body, headers, conn = self.signed_delivery()  # type: ignore[misc]
        assert SPEC.webhooks is not None
        now = datetime.now(UTC)
        SPEC.webhooks.verify(body, headers, conn, now=now)
        assert SPEC.webhooks.parse(SPEC.webhooks.split(body)[0], headers, conn, now=now).idempotency_key
        payload = json.loads(body)
        tampered = json.dumps({"value": [{**n, "clientState": n["clientState"] + "x"} for n in payload["value"]]})
        stripped = json.dumps({"value": [{k: v for k, v in n.items() if k != "clientState"} for n in payload["value"]]})
        for bad in (tampered.encode(), stripped.encode()):
            with pytest.raises(WebhookRejected) as caught:
                SPEC.webhooks.verify(bad, headers, conn, now=now)
            assert caught.value.status == 401

    def test_redelivery_has_the_same_idempotency_key(self) -> None:
        body, headers, conn = self.signed_delivery()  # type: ignore[misc]
        assert SPEC.webhooks is not None
        now = datetime.now(UTC)
        part = SPEC.webhooks.split(body)[0]
        first = SPEC.webhooks.parse(part, headers, conn, now=now)
        second = SPEC.webhooks.parse(part, dict(headers), conn, now=now)
        assert first.idempotency_key == second.idempotency_key


def test_real_http_through_loopback() -> None:
    from tradewire.connectors.base.sandbox import LoopbackServer
    from tradewire.connectors.businesscentral.client import BusinessCentralClient
    from tradewire.connectors.businesscentral.settings import BusinessCentralSecrets

    server = LoopbackServer(make_app()).start()
    try:

        async def go() -> Any:
            client = BusinessCentralClient(settings(base_url=server.url, authority_url=server.url),
                                           BusinessCentralSecrets.model_validate(CREDS))  # fmt: skip
            try:
                return await client.items_by_number(["CAP-NAVY"])
            finally:
                await client.aclose()

        [item] = asyncio.run(go())
    finally:
        server.stop()
    assert item.number == "CAP-NAVY"
