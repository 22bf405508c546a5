"""The sandbox served on 127.0.0.1 delivers signed webhooks to a receiver on 127.0.0.1."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradewire.connectors.base.sandbox import FaultKnobs, LoopbackServer, free_port
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.shopify import SPEC
from tradewire.connectors.shopify.sandbox import create_sandbox
from tradewire.connectors.shopify.sandbox_shop import SandboxOptions
from tradewire.connectors.shopify.webhooks import ShopifyWebhooks

SECRET, TOKEN = "loopback-secret", "shpat_loopback"
CONNECTION = Connection(
    id="conn-loop",
    client_id="client-loop",
    system="shopify",
    settings={"shop_domain": "loop.myshopify.com"},
    secrets={"client_secret": SECRET, "access_token": TOKEN},
)


class Receiver:
    """A tiny webhook endpoint that fails the first ``failures`` tries of each delivery."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self._tries: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/hooks", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        with self._lock:
            self.received.append((body, headers))
            webhook_id = headers.get("x-shopify-webhook-id", "")
            self._tries[webhook_id] += 1
            failing = self._tries[webhook_id] <= self.failures
        return JSONResponse({"ok": not failing}, status_code=500 if failing else 200)


@pytest.fixture
def served() -> Iterator[Any]:
    servers: list[LoopbackServer] = []

    def serve(app: Any) -> LoopbackServer:
        server = LoopbackServer(app).start()
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.stop()


def _sandbox(knobs: FaultKnobs | None = None) -> Any:
    options = SandboxOptions(webhook_retry_delays=[0.05, 0.05, 0.05], duplicate_delay_seconds=0.0)
    return create_sandbox(client_secret=SECRET, access_token=TOKEN, knobs=knobs, seed=21, options=options)


def test_deliveries_arrive_signed_and_parse_into_order_events(served: Any) -> None:
    receiver = Receiver()
    address = served(receiver.app).url + "/hooks"
    app = _sandbox()
    sandbox_url = served(app).url
    httpx.post(
        f"{sandbox_url}/_sandbox/webhooks", json={"topic": "orders/create", "address": address}
    ).raise_for_status()
    httpx.post(
        f"{sandbox_url}/_sandbox/webhooks", json={"topic": "orders/cancelled", "address": address}
    ).raise_for_status()
    created = httpx.post(f"{sandbox_url}/_sandbox/orders", json={"count": 3}).json()["orders"]
    httpx.post(f"{sandbox_url}/_sandbox/orders/{created[0]['id']}/cancel", json={"reason": "fraud"}).raise_for_status()
    shop = app.state.shop
    assert shop.wait_idle(10)
    hooks = ShopifyWebhooks()
    events = []
    for body, headers in receiver.received:
        hooks.verify(body, headers, CONNECTION, now=datetime.now(UTC))
        events.append(hooks.parse(body, headers, CONNECTION, now=datetime.now(UTC)))
        assert headers["x-shopify-shop-domain"] == "tradewire-sandbox.myshopify.com"
        assert headers["x-shopify-api-version"] == "2026-10"
    assert sorted((e.event_type, e.external_id) for e in events) == sorted(
        [("order.created", str(o["id"])) for o in created] + [("order.cancelled", str(created[0]["id"]))]
    )
    assert len({e.idempotency_key for e in events}) == 4
    assert all(int(e.external_id) > 2**53 for e in events)
    log = httpx.get(f"{sandbox_url}/_sandbox/deliveries", params={"order_id": created[0]["id"]}).json()["deliveries"]
    assert [d["topic"] for d in log] == ["orders/create", "orders/cancelled"]
    assert all(d["state"] == "delivered" and d["attempts"][0]["status"] == 200 for d in log)
    assert all(d["first_sent_at"] == d["attempts"][0]["at"] for d in log)


def test_failed_deliveries_are_retried_with_the_same_webhook_id_and_body(served: Any) -> None:
    receiver = Receiver(failures=2)
    address = served(receiver.app).url + "/hooks"
    app = _sandbox()
    served(app)
    shop = app.state.shop
    shop.subscribe("orders/create", address)
    order = shop.create_orders(1)[0]
    assert shop.wait_idle(10)
    assert len(receiver.received) == 3
    bodies = {body for body, _ in receiver.received}
    assert len(bodies) == 1
    ids = {
        (h["x-shopify-webhook-id"], h["x-shopify-event-id"], h["x-shopify-hmac-sha256"]) for _, h in receiver.received
    }
    assert len(ids) == 1
    keys = {SPEC.webhooks.parse(b, h, CONNECTION, now=datetime.now(UTC)).idempotency_key for b, h in receiver.received}  # type: ignore[union-attr]
    assert len(keys) == 1
    (entry,) = shop.delivery_log(order["id"])
    assert [a["status"] for a in entry["attempts"]] == [500, 500, 200]
    assert entry["first_sent_at"] <= entry["attempts"][-1]["at"]


def test_an_unreachable_address_fails_after_every_retry(served: Any) -> None:
    app = _sandbox()
    served(app)
    shop = app.state.shop
    shop.subscribe("orders/create", f"http://127.0.0.1:{free_port()}/hooks")  # nobody listens there
    shop.create_orders(1)
    assert shop.wait_idle(10)
    (entry,) = shop.delivery_log()
    assert entry["state"] == "failed"
    assert len(entry["attempts"]) == 4
    assert all(a["status"] is None and a["error"] for a in entry["attempts"])


@pytest.mark.parametrize(("rate", "low", "high"), [(0.0, 0, 0), (0.5, 12, 28), (1.0, 40, 40)])
def test_duplicates_happen_at_the_configured_rate(served: Any, rate: float, low: int, high: int) -> None:
    receiver = Receiver()
    address = served(receiver.app).url + "/hooks"
    app = _sandbox(FaultKnobs(duplicate_webhook_rate=rate, seed=99))
    served(app)
    shop = app.state.shop
    shop.subscribe("orders/create", address)
    shop.create_orders(40)
    assert shop.wait_idle(20)
    per_id = Counter(h["x-shopify-webhook-id"] for _, h in receiver.received)
    assert len(per_id) == 40
    duplicated = sum(1 for count in per_id.values() if count == 2)
    assert low <= duplicated <= high
    assert max(per_id.values()) <= 2
