"""Real HTTP on 127.0.0.1: the client through the SSRF guard to the served sandbox, and signed webhooks to a receiver."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from http_support import API_KEY, EXAMPLE, WEBHOOK_SECRET, sandbox
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradewire.connectors.base.sandbox import LoopbackServer
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.base.ssrf import AllowList, DestinationRefused
from tradewire.connectors.http.client import HttpClient
from tradewire.connectors.http.webhooks import HttpWebhooks
from tradewire.errors import WebhookRejected


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


def _connection(url: str) -> Connection:
    return Connection(
        id="conn-loop",
        client_id="client-loop",
        system="http",
        settings={"definition_path": str(EXAMPLE), "base_url": f"{url}/v1"},
        secrets={"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET},
    )


def test_client_reads_the_served_sandbox_only_when_allow_listed(served: Any) -> None:
    app = sandbox()
    app.state.loyalty.create_members(4)
    server = served(app)
    conn = _connection(server.url)

    async def read(allow: AllowList) -> list[str]:
        async with HttpClient.from_connection(conn, allow=allow) as http:
            return [m["id"] async for page in http.pages("list_members") for m in page]

    assert len(asyncio.run(read(AllowList.parse([f"127.0.0.1:{server.port}"])))) == 4
    with pytest.raises(DestinationRefused, match="loopback"):
        asyncio.run(read(AllowList()))
    with pytest.raises(DestinationRefused):
        asyncio.run(read(AllowList.parse([f"127.0.0.1:{server.port + 1}"])))


class Receiver:
    """A webhook endpoint that verifies with the connector, as the platform's receiver would."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.accepted: list[str] = []
        self.refused: list[str] = []
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/hooks", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        hooks = HttpWebhooks()
        now = datetime.now(UTC)
        try:
            hooks.verify(body, headers, self.connection, now=now)
            event = hooks.parse(body, headers, self.connection, now=now)
        except WebhookRejected as exc:
            with self._lock:
                self.refused.append(str(exc))
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        with self._lock:
            self.accepted.append(event.idempotency_key)
        return JSONResponse({"ok": True})


def test_signed_webhooks_arrive_over_real_http_and_verify(served: Any) -> None:
    app = sandbox(webhook_retry_delays=[0.05])
    server = served(app)
    receiver = Receiver(_connection(server.url))
    hooks = served(receiver.app)
    store = app.state.loyalty
    store.subscribe(f"{hooks.url}/hooks")
    member = store.create_members(1)[0]
    store.add_points(member["id"], 50, "welcome bonus")
    deadline = time.monotonic() + 10
    while (store.sender.busy or len(receiver.accepted) < 2) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert receiver.refused == []
    assert len(receiver.accepted) == 2
    assert len(set(receiver.accepted)) == 2
    log = store.delivery_log(member["id"])
    assert [d["state"] for d in log] == ["delivered", "delivered"]
