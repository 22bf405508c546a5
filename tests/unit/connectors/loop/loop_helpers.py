"""Shared helpers of the Loop connector tests (imported by the test modules and conftest)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from starlette.applications import Starlette

from tradewire.connectors.base.spec import Connection

API_KEY = "loop-test-key"
WEBHOOK_SECRET = "loop_test_secret"
BASE_URL = "http://loop.test/api/v1"


def connection(secret: str = WEBHOOK_SECRET, previous: str | None = None, **settings: Any) -> Connection:
    secrets = {"api_key": API_KEY, "webhook_secret": secret}
    if previous is not None:
        secrets["previous_webhook_secret"] = previous
    return Connection(
        id="conn-loop",
        client_id="client-1",
        system="loop",
        settings={"base_url": BASE_URL, **settings},
        secrets=secrets,
    )


def collect_deliveries(
    app: Starlette, drive: Callable[[], None], statuses: list[int] | None = None
) -> list[httpx.Request]:
    """Run ``drive`` inside the sandbox's lifespan and return every webhook POST it made."""
    sent: list[httpx.Request] = []
    answers = statuses or [200]

    def receive(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(answers[min(len(sent), len(answers)) - 1])

    loop = app.state.loop

    async def main() -> None:
        loop.sender.retry_delays = [0.01, 0.01]
        loop.sender.out_of_order_delay = 0.05
        loop.sender.duplicate_delay = 0.01
        async with httpx.AsyncClient(transport=httpx.MockTransport(receive)) as client:
            await loop.sender.start(client)
            try:
                drive()
                for _ in range(500):
                    if not loop.sender.busy:
                        break
                    await asyncio.sleep(0.01)
            finally:
                await loop.sender.stop()

    asyncio.run(main())
    return sent
