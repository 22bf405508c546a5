"""Real HTTP: the sandbox on 127.0.0.1 relays ORDER_CHANGE to a receiver on 127.0.0.1, the client reads back."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradewire.connectors.amazon import SPEC
from tradewire.connectors.amazon.client import AmazonClient
from tradewire.connectors.amazon.sandbox import create_sandbox
from tradewire.connectors.amazon.sandbox_store import SandboxOptions
from tradewire.connectors.amazon.settings import AmazonSecrets, AmazonSettings
from tradewire.connectors.base.sandbox import FaultKnobs, LoopbackServer
from tradewire.connectors.base.spec import Connection
from tradewire.errors import WebhookRejected

CREDS = {"client_id": "amzn1.application-oa2-client.loop", "client_secret": "lwa-loop", "refresh_token": "Atzr|loop"}
RELAY_SECRET = "relay-loop-secret"


class Receiver:
    """What Tradewire's webhook route does with a delivery: verify, split, parse; 401 when refused."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.keys: list[str] = []
        self.orders: list[str] = []
        self.refused = 0
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/amazon", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        hooks = SPEC.webhooks
        assert hooks is not None
        body, headers, now = await request.body(), dict(request.headers), datetime.now(UTC)
        try:
            hooks.verify(body, headers, self.connection, now=now)
            events = [hooks.parse(part, headers, self.connection, now=now) for part in hooks.split(body)]
        except WebhookRejected as exc:
            with self._lock:
                self.refused += 1
            return JSONResponse({"detail": str(exc)}, status_code=exc.status)
        with self._lock:
            for event in events:
                self.keys.append(event.idempotency_key)
                self.orders.append(event.external_id)
        return JSONResponse({"ok": True})


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


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def connection(settings: dict[str, Any]) -> Connection:
    return Connection(id="conn-loop", client_id="client-loop", system="amazon", settings=settings,
                      secrets={**CREDS, "relay_secret": RELAY_SECRET})  # fmt: skip


def test_notifications_reach_the_receiver_and_the_client_reads_the_order_over_tcp(served: Any) -> None:
    app = create_sandbox(**CREDS, knobs=FaultKnobs(duplicate_webhook_rate=1.0, seed=5),
                         options=SandboxOptions(relay_envelope="eventbridge"))  # fmt: skip
    sandbox = served(app)
    settings = {"seller_id": "A3TH9S8BH6GOGM", "base_url": sandbox.url, "token_url": f"{sandbox.url}/auth/o2/token"}
    receiver = Receiver(connection(settings))
    hook = served(receiver.app)
    store = app.state.amazon
    store.subscribe(f"{hook.url}/amazon", RELAY_SECRET)
    ids = store.create_orders(2)  # driven from this thread while the server runs in its own
    wait_for(lambda: store.sender.busy == 0 and len(receiver.keys) == 4)
    assert sorted(set(receiver.orders)) == sorted(ids)
    assert len(set(receiver.keys)) == 2  # each duplicate carries the same NotificationId

    async def read() -> str:
        client = AmazonClient(AmazonSettings.model_validate(settings), AmazonSecrets.model_validate(CREDS))
        try:
            whole = await client.fetch_order(receiver.orders[0])
        finally:
            await client.aclose()
        assert SPEC.order_source is not None
        return SPEC.order_source.to_order(whole, client_id="client-loop", connection_id="conn-loop").number

    assert asyncio.run(read()) == receiver.orders[0]


def test_a_relay_with_the_wrong_secret_is_refused_and_retried(served: Any) -> None:
    app = create_sandbox(**CREDS, options=SandboxOptions(retry_delays=[0.05, 0.05]))
    served(app)
    receiver = Receiver(connection({"seller_id": "A3TH9S8BH6GOGM"}))
    hook = served(receiver.app)
    store = app.state.amazon
    store.subscribe(f"{hook.url}/amazon", "not-the-secret")
    store.create_orders(1)
    wait_for(lambda: store.sender.busy == 0)
    [delivery] = store.delivery_log()
    assert delivery["state"] == "failed"
    assert [a["status"] for a in delivery["attempts"]] == [401, 401, 401]
    assert receiver.keys == []
    assert receiver.refused == 3
