"""A sandbox's webhook sender: POSTs signed deliveries the way vendors do, with retries and faults.

A vendor sandbox builds each :class:`Delivery` (body and headers signed as the vendor signs
them) and hands it to a :class:`WebhookSender`. A failed attempt (non-2xx, timeout, refused
connection) is retried on a schedule with the *same* body and headers. Knobs may send a
delivery twice (same ids) or hold it back so a later one overtakes it. Every attempt is logged
with ``time.time()``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Attempt:
    """One POST of a delivery."""

    at: float
    status: int | None
    error: str | None = None
    duplicate: bool = False

    def to_json(self) -> dict[str, Any]:
        """JSON for the delivery log."""
        return {"at": self.at, "status": self.status, "error": self.error, "duplicate": self.duplicate}


@dataclass
class Delivery:
    """One webhook for one subscription, with every attempt made so far (``object_id``: the vendor's id of its subject)."""

    webhook_id: str
    event_id: str
    topic: str
    object_id: str
    address: str
    body: bytes
    headers: dict[str, str]
    triggered_at: str
    duplicate: bool = False
    out_of_order: bool = False
    state: str = "queued"
    first_sent_at: float | None = None
    attempts: list[Attempt] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON for the delivery log (the body is left out; ``object_id`` says what it was about)."""
        return {
            "webhook_id": self.webhook_id,
            "event_id": self.event_id,
            "topic": self.topic,
            "object_id": self.object_id,
            "address": self.address,
            "triggered_at": self.triggered_at,
            "state": self.state,
            "duplicate": self.duplicate,
            "out_of_order": self.out_of_order,
            "first_sent_at": self.first_sent_at,
            "attempts": [attempt.to_json() for attempt in self.attempts],
        }


class WebhookSender:
    """Runs deliveries on asyncio tasks inside the sandbox's event loop.

    ``enqueue`` may be called from any thread (the demo drives the shop from its own thread);
    deliveries wait in a list until :meth:`start` runs inside the app's lifespan.

    Args:
        retry_delays: seconds before each retry (len + 1 tries in all).
        out_of_order_delay: how long a held-back delivery waits before its first try.
        duplicate_delay: gap between a delivery and its duplicate.
        concurrency: most POSTs in flight at once.
    """

    def __init__(
        self,
        *,
        retry_delays: list[float],
        out_of_order_delay: float,
        duplicate_delay: float,
        concurrency: int,
    ) -> None:
        self.retry_delays = list(retry_delays)
        self.out_of_order_delay = out_of_order_delay
        self.duplicate_delay = duplicate_delay
        self.concurrency = concurrency
        self.log: list[Delivery] = []
        self._lock = threading.Lock()
        self._pending: list[Delivery] = []
        self._open = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[Delivery] | None = None
        self._client: httpx.AsyncClient | None = None
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None

    @property
    def busy(self) -> int:
        """Deliveries not finished yet (queued, in flight or waiting for a retry)."""
        with self._lock:
            return self._open

    def enqueue(self, delivery: Delivery) -> None:
        """Queue one delivery (thread-safe)."""
        with self._lock:
            self.log.append(delivery)
            self._open += 1
            if self._loop is None or self._queue is None:
                self._pending.append(delivery)
                return
            self._loop.call_soon_threadsafe(self._queue.put_nowait, delivery)

    async def start(self, client: httpx.AsyncClient) -> None:
        """Start sending on the running loop with ``client`` (owned by the caller)."""
        self._client = client
        self._slots = asyncio.Semaphore(self.concurrency)
        queue: asyncio.Queue[Delivery] = asyncio.Queue()
        with self._lock:
            for delivery in self._pending:
                queue.put_nowait(delivery)
            self._pending.clear()
            self._queue = queue
            self._loop = asyncio.get_running_loop()
        self._runner = asyncio.create_task(self._run(queue), name="sandbox-webhooks")

    async def stop(self) -> None:
        """Stop sending; unfinished deliveries are abandoned (as a shut-down server would)."""
        with self._lock:
            self._loop = None
            self._queue = None
        tasks = [*self._tasks, *([self._runner] if self._runner else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._runner = None

    async def _run(self, queue: asyncio.Queue[Delivery]) -> None:
        while True:
            delivery = await queue.get()
            task = asyncio.create_task(self._deliver(delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            if delivery.out_of_order:
                await asyncio.sleep(self.out_of_order_delay)
            for delay in [0.0, *self.retry_delays]:
                if delay:
                    delivery.state = "retry_scheduled"
                    await asyncio.sleep(delay)
                if await self._post(delivery, duplicate=False):
                    delivery.state = "delivered"
                    break
            else:
                delivery.state = "failed"
            if delivery.state == "delivered" and delivery.duplicate:
                await asyncio.sleep(self.duplicate_delay)
                await self._post(delivery, duplicate=True)
                delivery.state = "delivered"  # the duplicate is a second copy; the delivery itself was done
        finally:
            with self._lock:
                self._open -= 1

    async def _post(self, delivery: Delivery, *, duplicate: bool) -> bool:
        assert self._client is not None
        assert self._slots is not None
        async with self._slots:
            started = time.time()
            if delivery.first_sent_at is None:
                delivery.first_sent_at = started
            delivery.state = "sending"
            try:
                response = await self._client.post(delivery.address, content=delivery.body, headers=delivery.headers)
            except httpx.HTTPError as exc:
                delivery.attempts.append(
                    Attempt(at=started, status=None, error=exc.__class__.__name__, duplicate=duplicate)
                )
                return False
            delivery.attempts.append(Attempt(at=started, status=response.status_code, duplicate=duplicate))
            return 200 <= response.status_code < 300
