"""Shared pieces of the declarative HTTP connector tests: the example definition and the loyalty sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tradewire.connectors.base.spec import Connection
from tradewire.connectors.base.ssrf import AllowList
from tradewire.connectors.http.client import HttpClient
from tradewire.connectors.http.definition import Definition
from tradewire.connectors.http.loader import load_definition
from tradewire.connectors.http.sandbox import create_sandbox

EXAMPLE = Path(__file__).resolve().parents[4] / "examples" / "connectors" / "loyalty-crm.yaml"
SANDBOX_URL = "http://127.0.0.1:8400/v1"
ALLOW = AllowList.parse(["127.0.0.1:8400"])
API_KEY = "test-api-key"
WEBHOOK_SECRET = "test-webhook-secret"
CLIENT_ID, CLIENT_SECRET = "tw-client", "tw-client-secret"


def definition(**changes: Any) -> Definition:
    """The example definition, with top-level fields replaced."""
    base = load_definition(EXAMPLE)
    return base.model_copy(update=changes) if changes else base


def sandbox(**options: Any) -> Any:
    """A fresh loyalty sandbox with the test credentials."""
    options.setdefault("api_key", API_KEY)
    options.setdefault("webhook_secret", WEBHOOK_SECRET)
    options.setdefault("client_id", CLIENT_ID)
    options.setdefault("client_secret", CLIENT_SECRET)
    options.setdefault("seed", 3)
    return create_sandbox(**options)


def connection(
    *, settings: dict[str, Any] | None = None, secrets: dict[str, str] | None = None, connection_id: str = "conn-http"
) -> Connection:
    """A connection to the sandbox using the example definition by path."""
    return Connection(
        id=connection_id,
        client_id="client-http",
        system="http",
        settings=settings or {"definition_path": str(EXAMPLE), "base_url": SANDBOX_URL},
        secrets=secrets if secrets is not None else {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET},
    )


def client(app: Any, conn: Connection | None = None, **kwargs: Any) -> HttpClient:
    """A client bound to ``app`` in-process, with the sandbox's loopback address allow-listed."""
    kwargs.setdefault("allow", ALLOW)
    return HttpClient.from_connection(conn or connection(), transport=httpx.ASGITransport(app), **kwargs)


def sandbox_deliveries(
    drive: Callable[[Any], None], statuses: list[int] | None = None, **options: Any
) -> list[tuple[bytes, dict[str, str]]]:
    """What the sandbox really POSTs to a subscriber while ``drive(store)`` runs, answered with ``statuses`` in turn."""
    answers = statuses or [200]
    sent: list[tuple[bytes, dict[str, str]]] = []

    def receive(request: httpx.Request) -> httpx.Response:
        sent.append((request.content, dict(request.headers)))
        return httpx.Response(answers[min(len(sent), len(answers)) - 1])

    options.setdefault("webhook_retry_delays", [0.01, 0.01])
    app = sandbox(webhook_transport=httpx.MockTransport(receive), **options)
    store = app.state.loyalty
    store.subscribe("https://receiver.test/webhooks/http/conn-http")

    async def main() -> None:
        async with app.router.lifespan_context(app):
            drive(store)
            for _ in range(500):
                if not store.sender.busy:
                    break
                await asyncio.sleep(0.01)

    asyncio.run(main())
    return sent
