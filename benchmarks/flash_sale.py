"""Flash sale: scarce stock, three channels, bursts of orders; the engine against a naive periodic full sync.

Both runs replay the same seeded order stream against three simulated channels that behave like
real ones: a channel sells a unit only while it lists one, and decrements its own listing on
each sale. Orders reach Tradewire after a webhook delay (so some are always in flight), and each
channel call passes a token bucket with that channel's published rate limit.

- **engine**: the real ledger on a SQLite file (each order committed by the ``OrderCommitment``
  writer the ``inventory_reserve`` flow uses, in its own transaction), the real allocation policy
  (equal shares, nothing listed twice) and the real outbox publisher draining every ``--tick``.
- **naive**: every ``--sync-every`` seconds, push on hand − committed for every SKU to every
  channel (what a periodic full sync does), within the same rate limits.

Printed: oversold units (sold beyond on hand) per run, publish calls per channel against what
its limit allows over the run, calls against one-call-per-change, and p50/p99 seconds from a
ledger change to the channel update (engine). ``--json`` prints the figures as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradewire.canonical import InventoryLevel
from tradewire.connectors.base.stock import PublishOutcome
from tradewire.errors import RetryableError
from tradewire.flows.context import FlowEnv
from tradewire.flows.retry import RetryPolicy
from tradewire.inventory.publisher import OutboxPublisher
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.factory import open_store
from tradewire.runtime.store.migrate import migrate
from tradewire.runtime.store.port_inventory import OnHandSnapshot, OrderCommitment
from tradewire.tenancy.connections import ConnectionCache
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox


@dataclass(frozen=True)
class ChannelSpec:
    """A channel's rate limit and how many SKUs one call carries."""

    name: str
    rate: float
    burst: float
    skus_per_call: int  # 1: a call per SKU (Walmart PUT, Amazon patch); >1: a batch mutation (Shopify)
    share: float  # share of the orders placed on it


CHANNELS = (
    ChannelSpec("shopify", rate=2.0, burst=10.0, skus_per_call=250, share=0.5),
    ChannelSpec("amazon", rate=5.0, burst=10.0, skus_per_call=1, share=0.3),
    ChannelSpec("walmart", rate=5.0, burst=20.0, skus_per_call=1, share=0.2),
)


@dataclass(frozen=True)
class Order:
    """One order placed on a channel at ``at`` seconds into the sale."""

    at: float
    channel: str
    sku: str
    quantity: int


@dataclass
class SimChannel:
    """A channel: sells only what it lists, decrements on sale, rate-limited calls."""

    spec: ChannelSpec
    listed: dict[str, int] = field(default_factory=dict)
    sold: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    tokens: float = 0.0
    last: float = field(default_factory=time.monotonic)
    max_batch: int = 50
    unlimited: bool = False

    def __post_init__(self) -> None:
        self.tokens = self.spec.burst
        self.max_batch = 250 if self.spec.skus_per_call > 1 else 20

    def take(self) -> bool:
        if self.unlimited:
            return True
        now = time.monotonic()
        self.tokens = min(self.spec.burst, self.tokens + (now - self.last) * self.spec.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def sell(self, sku: str, quantity: int) -> bool:
        if self.listed.get(sku, 0) < quantity:
            return False
        self.listed[sku] -= quantity
        self.sold[sku] = self.sold.get(sku, 0) + quantity
        return True

    async def publish(self, levels: Sequence[InventoryLevel]) -> list[PublishOutcome]:
        """The ``InventoryPublisher`` protocol: set quantities, a call per SKU or per batch."""
        outcomes: list[PublishOutcome] = []
        step = self.spec.skus_per_call
        for start in range(0, len(levels), step):
            if not self.take():
                if not outcomes:
                    raise RetryableError(f"{self.spec.name}: rate limit", retry_after=1 / self.spec.rate)
                return outcomes
            self.calls += 1
            for level in levels[start : start + step]:
                self.listed[level.sku] = level.available
                outcomes.append(PublishOutcome(level.sku, True))
        return outcomes

    async def aclose(self) -> None:
        """Nothing to release."""


@dataclass(frozen=True)
class Restock:
    """Stock arriving during the sale: the ERP reports ``units`` more of ``sku``."""

    at: float
    sku: str
    units: int


def make_restocks(stock: dict[str, int], duration: float, seed: int) -> list[Restock]:
    """Every second, 3 random SKUs get 2–8 more units (a receiving dock during the sale)."""
    rng = random.Random(seed + 1)
    names = list(stock)
    return [Restock(float(i + 1), rng.choice(names), rng.randint(2, 8)) for i in range(int(duration)) for _ in range(3)]


def make_stream(skus: int, orders: int, bursts: int, seed: int) -> tuple[dict[str, int], list[Order]]:
    """Scarce stock (3–12 units per SKU, popular SKUs most) and bursts of orders on all channels."""
    rng = random.Random(seed)
    stock = {f"SKU-{i:04d}": rng.randint(3, 12) for i in range(skus)}
    names = list(stock)
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(skus)]
    per_burst = orders // bursts
    stream: list[Order] = []
    for burst in range(bursts):
        start = burst * 4.0
        for _ in range(per_burst):
            channel = rng.choices(CHANNELS, weights=[c.share for c in CHANNELS])[0]
            sku = rng.choices(names, weights=weights)[0]
            stream.append(Order(start + rng.random() * 1.5, channel.name, sku, rng.choice((1, 1, 1, 2))))
    stream.sort(key=lambda o: o.at)
    return stock, stream


def oversold(stock: dict[str, int], restocks: Sequence[Restock], channels: Sequence[SimChannel]) -> int:
    """Units sold beyond what was on hand (initial stock plus what arrived), over all SKUs."""
    total = dict(stock)
    for r in restocks:
        total[r.sku] += r.units
    return sum(max(0, sum(c.sold.get(sku, 0) for c in channels) - units) for sku, units in total.items())


async def feed_restocks(restocks: Sequence[Restock], on_restock: Any) -> None:
    """Apply the restocks at their times."""
    started = time.monotonic()
    for restock in restocks:
        wait = restock.at - (time.monotonic() - started)
        if wait > 0:
            await asyncio.sleep(wait)
        await on_restock(restock)


async def replay(stream: list[Order], channels: dict[str, SimChannel], on_sale: Any, delay: float) -> None:
    """Place the orders at their times; accepted ones reach ``on_sale`` after the webhook delay."""
    started = time.monotonic()
    pending: list[asyncio.Task[None]] = []

    async def deliver(order: Order, oid: int) -> None:
        await asyncio.sleep(delay)
        await on_sale(order, oid)

    for oid, order in enumerate(stream):
        wait = order.at - (time.monotonic() - started)
        if wait > 0:
            await asyncio.sleep(wait)
        if channels[order.channel].sell(order.sku, order.quantity):
            pending.append(asyncio.create_task(deliver(order, oid)))
    await asyncio.gather(*pending)


async def run_engine(
    stock: dict[str, int], stream: list[Order], restocks: list[Restock], tick: float, delay: float
) -> dict[str, Any]:
    """The stream through the real ledger, allocation and outbox publisher on a SQLite file."""
    folder = tempfile.mkdtemp(prefix="flash-sale-")
    url = f"sqlite:///{Path(folder) / 'tw.db'}"
    migrate(url)
    store = open_store(url)
    client = store.create_client(store.create_partner("Bench"), "Flash retailer")
    channels = {c.name: SimChannel(c) for c in CHANNELS}
    db = DbExecutor(threads=2)
    env = FlowEnv(store, db, ConnectionCache(store, SecretBox("b" * 48)), RetryPolicy(), lambda: datetime.now(UTC))

    async def open_publisher(name: str) -> Any:
        return channels[name]

    publisher = OutboxPublisher(env, open_publisher=open_publisher, max_skus=2000)
    latencies: list[float] = []
    changes = 0
    with client_scope(client):
        shares = [{"connection": c.name, "priority": i, "percentage": c.share * 100} for i, c in enumerate(CHANNELS)]
        store.put_inventory_policy({"channels": shares}, "bench", env.clock())
        now = env.clock()
        store.record_facts([OnHandSnapshot(sku, None, units, now) for sku, units in stock.items()], now)
        for c in channels.values():  # the listings before the sale opens are not rate-limited
            c.unlimited = True
        first = await publisher.drain()
        for c in channels.values():
            c.calls, c.unlimited, c.last = 0, False, time.monotonic()

        arrivals: asyncio.Queue[OrderCommitment] = asyncio.Queue()

        async def on_sale(order: Order, oid: int) -> None:
            await arrivals.put(OrderCommitment(f"o{oid}", order.channel, "v1", {order.sku: order.quantity}))

        async def commit_loop() -> None:
            """Group commit, as the worker batches transitions: what arrived meanwhile, one transaction."""
            nonlocal changes
            while True:
                batch = [await arrivals.get()]
                while not arrivals.empty() and len(batch) < 500:
                    batch.append(arrivals.get_nowait())
                with client_scope(client):
                    await db.call(store.record_facts, batch, env.clock())
                changes += len(batch)
                for _ in batch:
                    arrivals.task_done()

        on_hand = dict(stock)

        async def on_restock(restock: Restock) -> None:
            nonlocal changes
            on_hand[restock.sku] += restock.units
            figure = OnHandSnapshot(restock.sku, None, on_hand[restock.sku], env.clock())
            with client_scope(client):
                await db.call(store.record_facts, [figure], env.clock())
            changes += 1

        stop = asyncio.Event()

        async def drain_loop() -> None:
            while not stop.is_set():
                with client_scope(client):
                    report = await publisher.drain()
                latencies.extend(report.latencies)
                await asyncio.sleep(tick)

        started = time.monotonic()
        drainer = asyncio.create_task(drain_loop())
        committer = asyncio.create_task(commit_loop())
        await asyncio.gather(replay(stream, channels, on_sale, delay), feed_restocks(restocks, on_restock))
        await arrivals.join()
        committer.cancel()
        for _ in range(200):  # let the outbox empty
            if not await db.call(store.dirty_skus, 1):
                break
            await asyncio.sleep(tick)
        stop.set()
        await drainer
        elapsed = time.monotonic() - started
    db.shutdown()
    store.close()
    return {
        "oversold": oversold(stock, restocks, list(channels.values())),
        "sold": sum(sum(c.sold.values()) for c in channels.values()),
        "calls": {c.spec.name: c.calls for c in channels.values()},
        "changes": changes,
        "elapsed": elapsed,
        "initial_sent": first.sent,
        "latency_p50": statistics.median(latencies) if latencies else None,
        "latency_p99": statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else None,
    }


async def run_naive(
    stock: dict[str, int], stream: list[Order], restocks: list[Restock], every: float, delay: float
) -> dict[str, Any]:
    """The stream against a periodic full sync of on hand − committed to every channel."""
    channels = {c.name: SimChannel(c) for c in CHANNELS}
    committed: dict[str, int] = {}
    for c in channels.values():
        c.listed = dict(stock)

    on_hand = dict(stock)

    async def on_sale(order: Order, oid: int) -> None:
        committed[order.sku] = committed.get(order.sku, 0) + order.quantity

    async def on_restock(restock: Restock) -> None:
        on_hand[restock.sku] += restock.units

    stop = asyncio.Event()

    async def sync_loop() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            await asyncio.gather(*(push_all(channel) for channel in channels.values()))

    async def push_all(channel: SimChannel) -> None:
        """Every SKU's on hand − committed to one channel, as fast as its limit allows."""
        levels = [
            InventoryLevel(client_id="c", sku=s, available=max(0, u - committed.get(s, 0)), as_of=datetime.now(UTC))
            for s, u in on_hand.items()
        ]
        while levels and not stop.is_set():
            try:
                done = await channel.publish(levels)
            except RetryableError:
                await asyncio.sleep(1 / channel.spec.rate)
                continue
            levels = levels[len(done) :]

    started = time.monotonic()
    syncer = asyncio.create_task(sync_loop())
    await asyncio.gather(replay(stream, channels, on_sale, delay), feed_restocks(restocks, on_restock))
    stop.set()
    syncer.cancel()
    elapsed = time.monotonic() - started
    return {
        "oversold": oversold(stock, restocks, list(channels.values())),
        "sold": sum(sum(c.sold.values()) for c in channels.values()),
        "calls": {c.spec.name: c.calls for c in channels.values()},
        "elapsed": elapsed,
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Run both and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, default=500)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--bursts", type=int, default=8)
    parser.add_argument("--tick", type=float, default=0.25, help="Seconds between outbox drains.")
    parser.add_argument("--sync-every", type=float, default=10.0, help="Seconds between naive full syncs.")
    parser.add_argument("--webhook-delay", type=float, default=0.2, help="Seconds from sale to Tradewire.")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="Print one JSON line.")
    args = parser.parse_args(argv)
    stock, stream = make_stream(args.skus, args.orders, args.bursts, args.seed)
    restocks = make_restocks(stock, stream[-1].at, args.seed)
    engine = asyncio.run(run_engine(stock, stream, restocks, args.tick, args.webhook_delay))
    naive = asyncio.run(run_naive(stock, stream, restocks, args.sync_every, args.webhook_delay))
    limits = {c.name: round(c.rate * engine["elapsed"] + c.burst) for c in CHANNELS}
    per_change = engine["changes"] * len(CHANNELS)
    engine_calls = sum(engine["calls"].values())
    figures = {
        "skus": args.skus,
        "orders": len(stream),
        "on_hand_units": sum(stock.values()),
        "restocked_units": sum(r.units for r in restocks),
        "engine_oversold": engine["oversold"],
        "naive_oversold": naive["oversold"],
        "engine_sold": engine["sold"],
        "naive_sold": naive["sold"],
        "engine_calls": engine["calls"],
        "naive_calls": naive["calls"],
        "call_limit": limits,
        "one_call_per_change": per_change,
        "fewer_calls_than_per_change": round(per_change / max(1, engine_calls), 1),
        "latency_p50_s": round(engine["latency_p50"] or 0.0, 3),
        "latency_p99_s": round(engine["latency_p99"] or 0.0, 3),
        "engine_seconds": round(engine["elapsed"], 1),
        "naive_seconds": round(naive["elapsed"], 1),
    }
    if args.json:
        print(json.dumps(figures, sort_keys=True))
        return
    print(
        f"flash sale: {args.skus} SKUs ({figures['on_hand_units']} units), {len(stream)} orders in {args.bursts} bursts"
    )
    print(
        f"oversold units        engine {engine['oversold']:>6}   naive (sync every {args.sync_every:g}s) {naive['oversold']:>6}"
    )
    print(f"units sold            engine {engine['sold']:>6}   naive {naive['sold']:>6}")
    for c in CHANNELS:
        print(
            f"publish calls {c.name:<8} engine {engine['calls'][c.name]:>6}   naive {naive['calls'][c.name]:>6}"
            f"   limit over the run {limits[c.name]}"
        )
    print(
        f"engine calls vs one call per change: {engine_calls} vs {per_change} ({figures['fewer_calls_than_per_change']}x fewer)"
    )
    print(f"change → channel      p50 {figures['latency_p50_s']}s   p99 {figures['latency_p99_s']}s")


if __name__ == "__main__":
    main()
