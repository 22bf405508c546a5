"""``tradewire demo``: the API, a worker, the scheduler and every sandbox in one process.

Realistic orders are created in the Shopify sandbox, which signs and sends webhooks to our
receiver (with duplicate and late deliveries); the worker exports them to the NetSuite
sandbox (which answers some requests with 429, 5xx and timeouts). The ledger check at the
end compares the two sandboxes: every order in NetSuite exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import uvicorn

from tradewire.canonical import canonical_id
from tradewire.connectors.base.sandbox import free_port
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.migrate import migrate
from tradewire.runtime.store.port import ACTIVE_STATES, Store
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


@dataclass
class DemoReport:
    """The demo's figures; ``ok`` means every order reached NetSuite exactly once."""

    orders_sent: int = 0
    orders_in_erp: int = 0
    duplicates_in_erp: int = 0
    missing_in_erp: int = 0
    cancellations_sent: int = 0
    cancelled_in_erp: int = 0
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
    settled: bool = False

    @property
    def ok(self) -> bool:
        """Everything sent is in the ERP exactly once, and nothing is dead or stuck."""
        return (
            self.settled
            and self.orders_in_erp == self.orders_sent
            and self.duplicates_in_erp == 0
            and self.dead_letters == 0
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return asdict(self) | {"ok": self.ok}


Progress = Callable[[DemoReport], None]
ERP_FAULT_COUNTERS = ("throttled", "faults", "timeouts", "concurrency_rejections", "auth_failures")
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
        self._orders: dict[int, str] = {}  # shopify id -> canonical id
        self._cancelled: set[int] = set()
        self._started = 0.0

    async def run(self, stop: asyncio.Event, progress: Progress | None = None) -> DemoReport:
        """Run until ``stop`` is set or, with ``orders``, until they settled."""
        migrate(self.settings.database.url)
        store = self.store = store_for(self.settings)
        box = SecretBox(self.settings.secret_key.get_secret_value())
        knobs = DemoKnobs.faulty(self.options.seed) if self.options.faults else DemoKnobs.calm()
        world = self.world = build_world(store, box, knobs, seed=self.options.seed)
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
        shop = self.world.shop
        total = self.options.orders
        interval = 0.1
        per_tick = max(self.options.rate * interval, 0.0)
        budget = 0.0
        rng = shop.dice
        while not stop.is_set() and (total is None or len(self._orders) < total):
            budget += per_tick
            count = int(budget)
            if total is not None:
                count = min(count, total - len(self._orders))
            budget -= count
            if count:
                created = await asyncio.to_thread(shop.create_orders, count)
                for order in created:
                    oid = int(order["id"])
                    self._orders[oid] = canonical_id(
                        self.world.client_id, "order", f"shopify:{self.world.shopify_connection}:{oid}"
                    )
                    if rng.roll(self.options.cancel_rate):
                        await asyncio.to_thread(shop.cancel_order, oid)
                        self._cancelled.add(oid)
            self._measure()
            if progress:
                progress(self.report)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    async def _settle(self, stop: asyncio.Event, progress: Progress | None) -> None:
        assert self.world is not None
        assert self.store is not None
        deadline = time.monotonic() + self.options.settle_timeout
        while time.monotonic() < deadline:
            self._measure()
            if progress:
                progress(self.report)
            active = sum(self.report.runs.get(s.value, 0) for s in ACTIVE_STATES)
            delivered = not self.world.shop.sender.busy
            if delivered and active == 0 and self.report.orders_in_erp + self.report.dead_letters >= len(self._orders):
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
        ns = world.netsuite
        rows = ns.sales_orders()
        by_external = {row.external_id: row for row in rows}
        report.orders_sent = len(self._orders)
        report.cancellations_sent = len(self._cancelled)
        present = [cid for cid in self._orders.values() if cid in by_external]
        report.orders_in_erp = len(present)
        report.missing_in_erp = report.orders_sent - report.orders_in_erp
        report.duplicates_in_erp = sum(count - 1 for count in ns.duplicates().values())
        report.cancelled_in_erp = sum(
            1
            for oid in self._cancelled
            if (row := by_external.get(self._orders[oid])) is not None and row.status == "C"
        )
        ops = Operations(store, world.client_id, actor="demo")
        report.runs = ops.counts()
        report.dead_letters = report.runs.get("dead", 0)
        stats = ns.snapshot_stats()
        report.erp_faults = {k: v for k, v in stats.items() if k in ERP_FAULT_COUNTERS and v}
        log = world.shop.delivery_log()
        report.webhook_deliveries = len(log)
        report.duplicate_deliveries = sum(1 for d in log if d["duplicate"])
        first_sent: dict[int, float] = {}
        for delivery in log:
            if delivery["topic"] == "orders/create" and delivery["first_sent_at"] is not None:
                oid = int(delivery["order_id"])
                first_sent[oid] = min(first_sent.get(oid, delivery["first_sent_at"]), delivery["first_sent_at"])
        latencies = [
            (by_external[cid].created_at - first_sent[oid]) * 1000
            for oid, cid in self._orders.items()
            if cid in by_external and oid in first_sent
        ]
        report.p50_ms = round(percentile(latencies, 50), 1)
        report.p99_ms = round(percentile(latencies, 99), 1)
        if present and first_sent:
            span = max(by_external[c].created_at for c in present) - min(first_sent.values())
            report.orders_per_second = round(len(present) / span, 1) if span > 0 else 0.0
        report.elapsed_seconds = round(time.monotonic() - self._started, 1) if self._started else 0.0
