"""Scheduled polling (the backstop, or only source, of inbound events) and connection upkeep jobs.

For each connection whose connector declares ``pollers``, each stream is polled every
``every_seconds`` (the connector's default, or the connection's ``settings.poll.<stream>``).
A poll resumes from the stored cursor; each page's records are stored as messages (with the
runs they start) **in the same transaction** as the cursor that follows them, so a crash
between pages re-reads at most one page and the idempotency keys make that a no-op. Records a
webhook already delivered are duplicates by the same key, so webhooks and polls never double up.

A poll that fails with a retryable error keeps its cursor and tries again next interval; an
auth error pauses the connection like a run would (nothing is lost: the cursor has not moved).

Connectors may also declare ``jobs`` (e.g. renewing Business Central's webhook subscriptions
before their 3-day expiry); they run on the same schedule, per connection, with the same rules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from tradewire.connectors import KNOWN_SYSTEMS, get_spec
from tradewire.connectors.base.spec import ConnectionJob, ConnectorSpec, JobContext, PolledRecord, PollStream
from tradewire.errors import AuthError, RetryableError, TradewireError
from tradewire.observability import metrics
from tradewire.runtime.budget import StoreRateBudget, merged_limits
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.port import CursorUpdate, Store
from tradewire.services.ingest import inbound_item
from tradewire.tenancy.connections import ConnectionCache, ResolvedConnection, resolve
from tradewire.tenancy.context import client_scope

log = logging.getLogger("tradewire.polling")

POLL_HEADERS = {"x-tradewire-source": "poll"}


@dataclass
class PollReport:
    """What one round of polling did."""

    polled: int = 0
    pages: int = 0
    stored: int = 0
    duplicates: int = 0
    failed: int = 0
    paused: list[str] = field(default_factory=list)
    jobs: int = 0
    job_failures: int = 0

    def as_dict(self) -> dict[str, int]:
        """Counters for the scheduler's log."""
        return {
            "polled": self.polled,
            "pages": self.pages,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "poll_failures": self.failed,
            "jobs": self.jobs,
            "job_failures": self.job_failures,
        }


class PollingService:
    """Polls every due (connection, stream); run by the scheduler's leader only.

    Args:
        store: the store (system scope for listing connections, client scope per poll).
        db: threads for blocking store calls.
        connections: decrypted connections, cached.
        clock: the time.
        max_pages: most pages one stream reads per round (the rest waits for the next round).
        transport: an httpx transport for every poller (tests pass an ASGI transport).
        on_enqueued: called when runs were queued (wakes in-process workers).
    """

    def __init__(
        self,
        store: Store,
        db: DbExecutor,
        connections: ConnectionCache,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_pages: int = 50,
        transport: httpx.AsyncBaseTransport | None = None,
        on_enqueued: Callable[[], None] | None = None,
        public_url: str | None = None,
    ) -> None:
        self.store = store
        self.db = db
        self.connections = connections
        self.clock = clock
        self.max_pages = max_pages
        self.transport = transport
        self.on_enqueued = on_enqueued
        self.public_url = public_url.rstrip("/") if public_url else None
        self._due: dict[tuple[str, str], datetime] = {}

    @staticmethod
    def polling_systems() -> list[str]:
        """Systems whose connector declares a stream to poll or a job to run."""
        return [system for system in KNOWN_SYSTEMS if get_spec(system).pollers or get_spec(system).jobs]

    async def tick(self) -> dict[str, int]:
        """Poll every stream and run every job that is due; returns counters."""
        report = PollReport()
        systems = self.polling_systems()
        if not systems:
            return report.as_dict()
        records = await self.db.call(self.store.connections_of, systems)
        now = self.clock()
        for record in records:
            if record.status == "paused":
                continue
            spec = get_spec(record.system)
            # The row was just read with its settings and sealed secrets: decrypt it, do not read it again.
            resolved = resolve(record, self.connections.box)
            for stream in spec.pollers:
                interval = resolved.poll_interval(stream.name, stream.every_seconds)
                key = (record.id, stream.name)
                if interval is None or self._due.get(key, now) > now:
                    continue
                self._due[key] = now + timedelta(seconds=interval)
                await self.poll(resolved, spec, stream, report)
            for job in spec.jobs:
                key = (record.id, f"job:{job.name}")
                if self._due.get(key, now) > now:
                    continue
                self._due[key] = now + timedelta(seconds=job.every_seconds)
                await self.run_job(resolved, spec, job, report)
        return report.as_dict()

    async def run_job(
        self, resolved: ResolvedConnection, spec: ConnectorSpec, job: ConnectionJob, report: PollReport
    ) -> None:
        """Run one upkeep job of one connection; failures are logged, never raised."""
        connection = resolved.connection
        webhook_url = f"{self.public_url}/webhooks/{spec.system}/{connection.id}" if self.public_url else None
        context = JobContext(now=self.clock(), webhook_url=webhook_url)
        report.jobs += 1
        with client_scope(connection.client_id):
            try:
                outcome = await job.run(connection, self._budget(resolved, spec), self.transport, context)
            except AuthError as exc:
                report.job_failures += 1
                await self._pause(resolved, spec, f"credentials refused by job {job.name}: {exc}", report)
            except Exception:
                report.job_failures += 1
                log.exception("job %s of %s failed", job.name, connection.id, extra={"connection": connection.id})
            else:
                log.info("job %s of %s: %s", job.name, connection.id, outcome, extra={"connection": connection.id})

    def _budget(self, resolved: ResolvedConnection, spec: ConnectorSpec) -> StoreRateBudget:
        connection = resolved.connection
        return StoreRateBudget(
            self.store,
            self.db,
            client_id=connection.client_id,
            connection_id=connection.id,
            limits=merged_limits(spec.rate_limits, resolved.budgets),
            clock=self.clock,
            max_inline_wait=30.0,
        )

    async def _pause(self, resolved: ResolvedConnection, spec: ConnectorSpec, reason: str, report: PollReport) -> None:
        connection = resolved.connection
        await self.db.call(self.store.set_connection_status, connection.id, "paused", reason)
        self.connections.forget(connection.id)
        report.paused.append(connection.id)
        metrics.CONNECTIONS_PAUSED.labels(system=spec.system).inc()
        log.error("connection paused", extra={"connection": connection.id, "reason": reason})

    async def poll(
        self, resolved: ResolvedConnection, spec: ConnectorSpec, stream: PollStream, report: PollReport
    ) -> None:
        """Read one stream of one connection from its cursor, storing page by page."""
        connection = resolved.connection
        report.polled += 1
        with client_scope(connection.client_id):
            cursor = await self.db.call(self.store.get_cursor, connection.id, stream.name)
            poller = stream.open(connection, self._budget(resolved, spec), self.transport)
            try:
                pages = 0
                async for page in poller.pages(cursor, now=self.clock()):
                    await self._store_page(spec.system, resolved, stream.name, page.records, page.cursor, report)
                    pages += 1
                    if pages >= self.max_pages:
                        break
            except AuthError as exc:
                report.failed += 1
                metrics.POLLS.labels(system=spec.system, outcome="paused").inc()
                await self._pause(resolved, spec, f"credentials refused while polling {stream.name}: {exc}", report)
            except (RetryableError, TradewireError) as exc:
                report.failed += 1
                kind = "retryable" if isinstance(exc, RetryableError) else "failed"
                metrics.POLLS.labels(system=spec.system, outcome=kind).inc()
                log.warning(
                    "poll %s of %s stopped: %s (the cursor stays where it was)",
                    stream.name,
                    connection.id,
                    exc,
                    extra={"connection": connection.id},
                )
            except Exception:
                # A connector bug or a cursor it cannot read must not stop the other connections' polls.
                report.failed += 1
                metrics.POLLS.labels(system=spec.system, outcome="failed").inc()
                log.exception("poll %s of %s failed", stream.name, connection.id, extra={"connection": connection.id})
            else:
                metrics.POLLS.labels(system=spec.system, outcome="ok").inc()
            finally:
                await poller.aclose()

    async def _store_page(
        self,
        system: str,
        resolved: ResolvedConnection,
        stream: str,
        records: Sequence[PolledRecord],
        cursor: str | None,
        report: PollReport,
    ) -> None:
        connection = resolved.connection
        now = self.clock()
        items = [inbound_item(system, connection, record.event, record.body, POLL_HEADERS, now) for record in records]
        update = CursorUpdate(connection.client_id, connection.id, stream, cursor) if cursor is not None else None
        results = await self.db.call(self.store.ingest, items, cursor=update, now=now)
        report.pages += 1
        report.stored += sum(1 for r in results if not r.duplicate)
        report.duplicates += sum(1 for r in results if r.duplicate)
        if any(r.run_ids for r in results) and self.on_enqueued is not None:
            self.on_enqueued()
