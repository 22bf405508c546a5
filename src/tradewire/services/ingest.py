"""Accept inbound webhooks: verify, store raw, enqueue runs, and only then acknowledge.

Concurrent deliveries share one transaction (group commit): each request waits at most
``window_ms`` for company, so a burst costs one fsync instead of one per webhook.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from tradewire.connectors import get_spec
from tradewire.connectors.base.spec import NO_QUERY, Connection, HandshakeReply, InboundEvent
from tradewire.errors import NotFound, WebhookIgnored
from tradewire.flows.registry import flows_for
from tradewire.observability import metrics
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.port import IngestItem, IngestResult, NewRun, Store
from tradewire.tenancy.connections import ConnectionCache

# Headers worth keeping with the raw body (never secrets: signatures are kept for audit, not tokens).
KEEP_HEADER_PREFIXES = ("x-shopify-", "content-type", "user-agent", "x-loop-", "x-amz-")
# Headers the platform itself sets. Vendors whose endpoint auth uses a configurable header name
# (Walmart's authHeaderName, an Amazon relay secret) are kept out by not keeping their namespaces.
KEEP_HEADERS = frozenset({"x-tradewire-source"})


@dataclass(frozen=True)
class Accepted:
    """What the receiver tells the sender."""

    status: str  # "stored", "duplicate", "ignored", "handshake"
    message_id: int | None = None
    run_ids: tuple[int, ...] = ()
    detail: str = ""
    reply: HandshakeReply | None = None


@dataclass
class _Waiting:
    item: IngestItem
    future: asyncio.Future[IngestResult]


class IngestBatcher:
    """Group commit for the ingest path."""

    def __init__(self, store: Store, db: DbExecutor, *, window_ms: float = 2.0, max_batch: int = 256) -> None:
        self.store = store
        self.db = db
        self.window = window_ms / 1000.0
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Waiting] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: IngestItem) -> IngestResult:
        """Store one message (with its runs) and return once it is durably committed."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="ingest-batcher")
        future: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Waiting(item, future))
        return await future

    async def _loop(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            deadline = time.monotonic() + self.window
            while len(batch) < self.max_batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
            try:
                results = await self.db.call(self.store.ingest, [w.item for w in batch])
            except Exception as exc:
                for waiting in batch:
                    if not waiting.future.done():
                        waiting.future.set_exception(exc)
                continue
            metrics.INGEST_BATCH.observe(len(batch))
            for waiting, result in zip(batch, results, strict=True):
                if not waiting.future.done():
                    waiting.future.set_result(result)

    async def aclose(self) -> None:
        """Stop the batcher (after in-flight submissions returned)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class WebhookIngest:
    """The receiver's use case: one delivery in, one acknowledgement out."""

    def __init__(
        self,
        connections: ConnectionCache,
        batcher: IngestBatcher,
        db: DbExecutor,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_enqueued: Callable[[], None] | None = None,
    ) -> None:
        self.connections = connections
        self.batcher = batcher
        self.db = db
        self.clock = clock
        self.on_enqueued = on_enqueued

    async def receive(
        self,
        system: str,
        connection_id: str,
        body: bytes,
        headers: Mapping[str, str],
        query: Mapping[str, str] = NO_QUERY,
    ) -> Accepted:
        """Verify and store one delivery (each event it carries becomes one message).

        Raises:
            NotFound: no such connection, or it is not a ``system`` connection (404).
            WebhookRejected: bad signature, stale or malformed delivery (401/400); nothing stored.
        """
        resolved = self.connections.peek(connection_id)
        if resolved is None:
            resolved = await self.db.call(self.connections.get, connection_id)
        connection = resolved.connection
        if connection.system != system:
            raise NotFound(f"connection {connection_id!r} is not a {system} connection")
        spec = get_spec(system)
        hooks = spec.webhooks
        if hooks is None:
            raise NotFound(f"{spec.display_name} does not send webhooks")
        lowered = {k.lower(): v for k, v in headers.items()}
        reply = hooks.handshake(body, lowered, connection, query=query)
        if reply is not None:
            metrics.WEBHOOKS.labels(system=system, outcome="handshake").inc()
            return Accepted("handshake", reply=reply)
        now = self.clock()
        hooks.verify(body, lowered, connection, now=now, query=query)
        items: list[IngestItem] = []
        ignored: list[str] = []
        for part in hooks.split(body):
            try:
                event = hooks.parse(part, lowered, connection, now=now, query=query)
            except WebhookIgnored as exc:
                ignored.append(str(exc))
                continue
            items.append(inbound_item(system, connection, event, part, lowered, now))
        if not items:
            metrics.WEBHOOKS.labels(system=system, outcome="ignored").inc()
            return Accepted("ignored", detail="; ".join(ignored))
        results = await asyncio.gather(*(self.batcher.submit(item) for item in items))
        duplicate = all(r.duplicate for r in results)
        outcome = "duplicate" if duplicate else "stored"
        metrics.WEBHOOKS.labels(system=system, outcome=outcome).inc()
        run_ids = tuple(run_id for r in results for run_id in r.run_ids)
        if run_ids and self.on_enqueued is not None:
            self.on_enqueued()
        return Accepted(outcome, results[0].message_id, run_ids, detail="; ".join(ignored))


def inbound_item(
    system: str, connection: Connection, event: InboundEvent, body: bytes, headers: Mapping[str, str], now: datetime
) -> IngestItem:
    """The message (and the runs its event starts) for one inbound event, webhook or poll."""
    runs = tuple(
        NewRun(
            flow=f.name,
            flow_version=f.version,
            ordering_key=f.ordering_key_for(event.ordering_key),
            ordering_seq=event.ordering_seq,
        )
        for f in flows_for(event.event_type)
    )
    return IngestItem(
        client_id=connection.client_id,
        connection_id=connection.id,
        source=f"{system}:{connection.id}",
        topic=event.event_type,
        idempotency_key=event.idempotency_key,
        body=body,
        headers={k: v for k, v in headers.items() if k.startswith(KEEP_HEADER_PREFIXES) or k in KEEP_HEADERS},
        runs=runs,
        received_at=now,
    )
