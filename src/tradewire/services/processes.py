"""Assemble the long-running processes from settings: worker, scheduler, API dependencies."""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from tradewire.flows.context import FlowEnv
from tradewire.flows.engine import FlowEngine
from tradewire.flows.registry import FLOWS
from tradewire.flows.retry import RetryPolicy
from tradewire.governance.audit_chain import AuditSigner
from tradewire.inventory.publisher import OutboxPublisher
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.scheduler import Scheduler
from tradewire.runtime.store.factory import open_store
from tradewire.runtime.store.port import Store
from tradewire.runtime.worker import Worker
from tradewire.services.ingest import IngestBatcher, WebhookIngest
from tradewire.services.inventory import publisher_env
from tradewire.services.polling import PollingService
from tradewire.services.reconcile_job import ReconcileJob
from tradewire.settings import Settings
from tradewire.tenancy.connections import ConnectionCache
from tradewire.tenancy.secrets import SecretBox


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def store_for(settings: Settings) -> Store:
    """Open the configured store."""
    return open_store(
        settings.database.url, settings=settings.database, audit_signer=AuditSigner(settings.secret_keys())
    )


def retry_policy(settings: Settings) -> RetryPolicy:
    """The default retry policy from settings."""
    r = settings.retry
    return RetryPolicy(r.base_seconds, r.cap_seconds, r.window_seconds, r.max_attempts)


@dataclass
class WorkerBundle:
    """A worker and what it owns."""

    worker: Worker
    env: FlowEnv
    db: DbExecutor

    async def aclose(self) -> None:
        """Close vendor clients and database threads."""
        await self.env.aclose()
        self.db.shutdown()


def build_worker(settings: Settings, store: Store, *, worker_id: str | None = None) -> WorkerBundle:
    """A worker executing every registered flow."""
    db = DbExecutor(threads=4 if store.dialect == "postgresql" else 2)
    env = FlowEnv(
        store=store,
        db=db,
        connections=ConnectionCache(store, SecretBox.from_settings(settings)),
        retry=retry_policy(settings),
        clock=utcnow,
        max_inline_budget_wait=settings.worker.budget_wait_inline_seconds,
    )
    engine = FlowEngine(FLOWS, env)
    worker = Worker(store, engine, settings.worker, db=db, worker_id=worker_id, clock=utcnow)
    return WorkerBundle(worker, env, db)


def build_scheduler(
    settings: Settings, store: Store, *, transport: httpx.AsyncBaseTransport | None = None
) -> Scheduler:
    """The scheduler (stands by unless it wins leadership); its leader also polls the connectors."""
    owner = f"{socket.gethostname()}:{os.getpid()}"
    db = DbExecutor(threads=1)
    polling = PollingService(
        store,
        db,
        ConnectionCache(store, SecretBox.from_settings(settings)),
        clock=utcnow,
        max_pages=settings.scheduler.poll_max_pages,
        transport=transport,
        public_url=settings.api.public_url,
    )
    inventory = OutboxPublisher(publisher_env(settings, store, db))
    return Scheduler(
        store,
        settings.scheduler,
        owner=owner,
        max_rescues=settings.worker.max_rescues,
        clock=utcnow,
        db=db,
        jobs=[polling.tick, inventory.tick, reconcile_job(settings, store, db).tick],
    )


def reconcile_job(settings: Settings, store: Store, db: DbExecutor) -> ReconcileJob:
    """The scheduler's reconciliation job."""
    s = settings.scheduler
    return ReconcileJob(
        store, db, every_seconds=s.reconcile_seconds, grace_seconds=s.reconcile_grace_seconds, clock=utcnow
    )


def build_ingest(settings: Settings, store: Store, db: DbExecutor | None = None) -> WebhookIngest:
    """The webhook receiver's use case with group commit."""
    db = db or DbExecutor(threads=2)
    batcher = IngestBatcher(
        store, db, window_ms=settings.api.ingest_batch_window_ms, max_batch=settings.api.ingest_batch_max
    )
    connections = ConnectionCache(store, SecretBox.from_settings(settings))
    return WebhookIngest(connections, batcher, db, clock=utcnow)


def migrate_database(settings: Settings) -> str | None:
    """Create or upgrade the schema; returns the revision applied."""
    from tradewire.runtime.store.migrate import migrate

    return migrate(settings.database.url)


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """A worker process until ``stop``."""
    store = store_for(settings)
    bundle = build_worker(settings, store)
    if settings.worker.metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(settings.worker.metrics_port, addr="127.0.0.1")
    try:
        await bundle.worker.run(stop)
    finally:
        await bundle.aclose()
        store.close()


async def run_scheduler(settings: Settings, stop: asyncio.Event) -> None:
    """A scheduler process until ``stop``."""
    store = store_for(settings)
    try:
        await build_scheduler(settings, store).run(stop)
    finally:
        store.close()
