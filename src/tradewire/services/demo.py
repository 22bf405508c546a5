"""``tradewire demo``: the API, a worker, the scheduler and every sandbox in one process.

Realistic orders are created in the channels' sandboxes (Shopify by default), which notify our
receiver the way each vendor does (with duplicate and late deliveries) and are polled as the
backstop; the worker exports them to the ERP sandbox (NetSuite by default), which answers some
requests with 429, 5xx and timeouts. The ledger check at the end compares the sandboxes: every
order in the ERP exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import uvicorn

from tradewire.canonical import canonical_id
from tradewire.connectors.base.sandbox import free_port
from tradewire.governance.permissions import Role
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.migrate import migrate
from tradewire.runtime.store.port import ACTIVE_STATES, Store
from tradewire.services.access import AccessKeys
from tradewire.services.demo_systems import DemoChannel
from tradewire.services.demo_world import DemoKnobs, DemoWorld, build_world
from tradewire.services.ingest import WebhookIngest
from tradewire.services.operations import Operations
from tradewire.services.processes import build_ingest, build_scheduler, build_worker, store_for
from tradewire.settings import Settings
from tradewire.tenancy.secrets import SecretBox


@dataclass
class DemoOptions:
    """What the demo does."""

    orders: int | None = None
    rate: float = 50.0
    cancel_rate: float = 0.05
    faults: bool = True
    settle_timeout: float = 300.0
    seed: int | None = None
    port: int | None = None
    channels: tuple[str, ...] = ("shopify",)
    erp: str = "netsuite"


@dataclass
class DemoReport:
    """The demo's figures; ``ok`` means every order reached NetSuite exactly once."""

    orders_sent: int = 0
    orders_in_erp: int = 0
    duplicates_in_erp: int = 0
    missing_in_erp: int = 0
    cancellations_sent: int = 0
    cancelled_in_erp: int = 0
    cancelled_before_export: int = 0
    """Cancelled orders the ERP never got: right when the channel's order was read after the cancel."""
    dead_letters: int = 0
    runs: dict[str, int] = field(default_factory=dict)
    webhook_deliveries: int = 0
    duplicate_deliveries: int = 0
    erp_faults: dict[str, int] = field(default_factory=dict)
    orders_per_second: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    elapsed_seconds: float = 0.0
    database: str = ""
    api_url: str = ""
    api_key: str = ""
    """A partner_admin key for this demo's partner, to try ``/v1`` with (shown once, like any key)."""
    channels: list[str] = field(default_factory=list)
    erp: str = ""
    orders_by_channel: dict[str, int] = field(default_factory=dict)
    settled: bool = False

    @property
    def ok(self) -> bool:
        """Everything sent is in the ERP exactly once, and nothing is dead or stuck."""
        return (
            self.settled
            and self.orders_in_erp + self.cancelled_before_export == self.orders_sent
            and self.duplicates_in_erp == 0
            and self.dead_letters == 0
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return asdict(self) | {"ok": self.ok}


Progress = Callable[[DemoReport], None]
AppFactory = Callable[[Settings, Store, WebhookIngest], Any]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


class Demo:
    """One demo session."""

    def __init__(self, settings: Settings, options: DemoOptions, make_app: AppFactory) -> None:
        self.settings = settings
        self.make_app = make_app
        self.options = options
        self.report = DemoReport(database=settings.database.url)
        self.world: DemoWorld | None = None
        self.store: Store | None = None
        self._orders: dict[tuple[str, str], str] = {}  # (system, channel order id) -> canonical id
        self._cancelled: set[tuple[str, str]] = set()
        self._started = 0.0
        self._random = random.Random(options.seed)

    async def run(self, stop: asyncio.Event, progress: Progress | None = None) -> DemoReport:
        """Run until ``stop`` is set or, with ``orders``, until they settled."""
        migrate(self.settings.database.url)
        store = self.store = store_for(self.settings)
        box = SecretBox.from_settings(self.settings)
        knobs = DemoKnobs.faulty(self.options.seed) if self.options.faults else DemoKnobs.calm()
        world = self.world = build_world(
            store, box, knobs, seed=self.options.seed, channels=self.options.channels, erp=self.options.erp
        )
        self.report.channels = [c.system for c in world.channels]
        self.report.erp = world.erp.system
        partner = store.get_client(world.client_id).partner_id
        issued = AccessKeys(store, actor="demo").issue(partner_id=partner, role=Role.PARTNER_ADMIN, name="demo")
        self.report.api_key = issued.secret
        port = self.options.port or free_port()
        self.report.api_url = f"http://127.0.0.1:{port}"
        worker = build_worker(self.settings, store)
        ingest = build_ingest(self.settings, store, DbExecutor(threads=2))
        ingest.on_enqueued = worker.worker.wake
        app = self.make_app(self.settings, store, ingest)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")
        )
        scheduler = build_scheduler(self.settings, store)
        inner_stop = asyncio.Event()
        tasks = [
            asyncio.create_task(server.serve(), name="api"),
            asyncio.create_task(worker.worker.run(inner_stop), name="worker"),
            asyncio.create_task(scheduler.run(inner_stop), name="scheduler"),
        ]
        try:
            for _ in range(1000):  # uvicorn offers no event for "listening"
                if server.started:
                    break
                await asyncio.sleep(0.01)
            world.subscribe(self.report.api_url)
            self._started = time.monotonic()
            await self._generate(stop, progress)
            await self._settle(stop, progress)
        finally:
            inner_stop.set()
            server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            await worker.aclose()
            self._measure()
            world.stop()
            store.close()
        return self.report

    async def _generate(self, stop: asyncio.Event, progress: Progress | None) -> None:
        assert self.world is not None
        channels = self.world.channels
        total = self.options.orders
        interval = 0.1
        per_tick = max(self.options.rate * interval, 0.0)
        budget = 0.0
        turn = 0
        while not stop.is_set() and (total is None or len(self._orders) < total):
            budget += per_tick
            count = int(budget)
            if total is not None:
                count = min(count, total - len(self._orders))
            budget -= count
            # Round robin: each channel gets its share of this tick's orders.
            shares = [0] * len(channels)
            for i in range(count):
                shares[(turn + i) % len(channels)] += 1
            turn += count
            for channel, share in zip(channels, shares, strict=True):
                if share:
                    await self._create(channel, share)
            self._measure()
            if progress:
                progress(self.report)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    async def _create(self, channel: DemoChannel, count: int) -> None:
        assert self.world is not None
        created = await asyncio.to_thread(channel.create_orders, count)
        for external_id in created:
            key = (channel.system, external_id)
            self._orders[key] = canonical_id(self.world.client_id, "order", channel.order_key(external_id))
            if self._random.random() < self.options.cancel_rate:
                await asyncio.to_thread(channel.cancel_order, external_id)
                self._cancelled.add(key)

    async def _settle(self, stop: asyncio.Event, progress: Progress | None) -> None:
        assert self.world is not None
        assert self.store is not None
        deadline = time.monotonic() + self.options.settle_timeout
        while time.monotonic() < deadline:
            self._measure()
            if progress:
                progress(self.report)
            active = sum(self.report.runs.get(s.value, 0) for s in ACTIVE_STATES)
            delivered = all(c.pending_deliveries() == 0 for c in self.world.channels)
            accounted = self.report.orders_in_erp + self.report.dead_letters + self.report.cancelled_before_export
            if delivered and active == 0 and accounted >= len(self._orders):
                self.report.settled = True
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)
            if stop.is_set() and self.options.orders is None:
                return

    def _measure(self) -> None:
        world, store, report = self.world, self.store, self.report
        if world is None or store is None:
            return
        records = world.erp.records()
        report.orders_sent = len(self._orders)
        report.orders_by_channel = {
            c.system: sum(1 for system, _ in self._orders if system == c.system) for c in world.channels
        }
        report.cancellations_sent = len(self._cancelled)
        present = [cid for cid in self._orders.values() if cid in records]
        report.orders_in_erp = len(present)
        report.duplicates_in_erp = world.erp.duplicates()
        report.cancelled_in_erp = sum(
            1 for key in self._cancelled if (rec := records.get(self._orders[key])) is not None and rec.cancelled
        )
        report.cancelled_before_export = sum(1 for key in self._cancelled if self._orders[key] not in records)
        report.missing_in_erp = report.orders_sent - report.orders_in_erp - report.cancelled_before_export
        ops = Operations(store, world.client_id, actor="demo")
        report.runs = ops.counts()
        report.dead_letters = report.runs.get("dead", 0)
        report.erp_faults = world.erp.faults()
        first_sent: dict[tuple[str, str], float] = {}
        deliveries = duplicates = 0
        for channel in world.channels:
            sent, dup = channel.deliveries()
            deliveries, duplicates = deliveries + sent, duplicates + dup
            first_sent |= {(channel.system, oid): at for oid, at in channel.first_sent().items()}
        report.webhook_deliveries = deliveries
        report.duplicate_deliveries = duplicates
        latencies = [
            (records[cid].created_at - first_sent[key]) * 1000
            for key, cid in self._orders.items()
            if cid in records and key in first_sent
        ]
        report.p50_ms = round(percentile(latencies, 50), 1)
        report.p99_ms = round(percentile(latencies, 99), 1)
        if present and first_sent:
            span = max(records[c].created_at for c in present) - min(first_sent.values())
            report.orders_per_second = round(len(present) / span, 1) if span > 0 else 0.0
        report.elapsed_seconds = round(time.monotonic() - self._started, 1) if self._started else 0.0
