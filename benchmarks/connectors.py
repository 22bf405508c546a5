"""Connector clients against their sandboxes: speed, CPU per call, and behaviour at the vendor's limit.

For each connector (``--only`` picks some), two phases, each against a fresh sandbox served by
uvicorn on 127.0.0.1 in a background thread of this process:

1. **throughput** — the sandbox's rate limits lifted, the client without a rate budget: ``--calls``
   calls of the connector's typical read, ``--concurrency`` at a time. Prints calls/s, latency
   p50/p99, CPU ms per call of the client (the asyncio thread's CPU time) and of the sandbox (its
   server thread's CPU time, read with psutil), errors.
2. **at the published limit** — the sandbox enforces the vendor's documented limit, and the client
   uses the real shared rate budget (``StoreRateBudget`` on an in-memory store) with the limits the
   connector declares in its ``SPEC``. The same call runs for ``--seconds`` with more concurrency than
   the limit allows. Prints the rate achieved in the vendor's unit (requests or cost points), its
   share of what the vendor allows in that window (a full bucket plus its refill: ``burst + rate ×
   seconds``), and how many calls the vendor throttled (429/THROTTLED): a good connector runs close
   to 100 % with (almost) no 429s; a 429 storm means its budget is wrong.

The sandbox and the client share this process and the machine's 2 cores: compare figures within a
run, not across machines. ``--json`` prints one JSON object per connector and phase, then a summary.

Usage::

    .venv/bin/python benchmarks/connectors.py
    .venv/bin/python benchmarks/connectors.py --only shopify,netsuite --calls 500 --seconds 10 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import psutil

from connector_cases import CASES, Case, Harness
from tradewire.connectors.base.budget import RateBudget, UnlimitedBudget
from tradewire.errors import RateBudgetWait, VendorRateLimited
from tradewire.runtime.budget import StoreRateBudget, merged_limits
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.factory import open_store


@dataclass
class PhaseResult:
    system: str
    phase: str
    operation: str
    calls: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    calls_per_second: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    client_cpu_ms_per_call: float = 0.0
    sandbox_cpu_ms_per_call: float = 0.0
    unit: str = "requests"
    published_limit: str = ""
    achieved_per_second: float = 0.0
    share_of_limit_pct: float | None = None
    throttled: int = 0
    parked: int = 0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def thread_cpu(native_id: int | None) -> float:
    """CPU seconds of one thread of this process (0 when it is gone)."""
    if native_id is None:
        return 0.0
    for thread in psutil.Process().threads():
        if thread.id == native_id:
            return float(thread.user_time + thread.system_time)
    return 0.0


async def drive(
    harness: Harness,
    client: Any,
    *,
    concurrency: int,
    calls: int | None,
    seconds: float | None,
    result: PhaseResult,
) -> list[float]:
    """Run the harness's call until ``calls`` were made or ``seconds`` passed; returns latencies (ms)."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds if seconds else None
    issued = 0
    units = 0.0

    async def one() -> None:
        nonlocal issued, units
        while True:
            if calls is not None and issued >= calls:
                return
            if deadline is not None and time.monotonic() >= deadline:
                return
            issued += 1
            started = time.perf_counter()
            try:
                used = await harness.call(client)  # not ``units += await …``: that loses updates
                units += used
                latencies.append((time.perf_counter() - started) * 1000)
            except VendorRateLimited as exc:
                result.throttled += 1
                await asyncio.sleep(exc.retry_after or 1.0)
            except RateBudgetWait as exc:
                # In a worker the run would be parked and retried; here we wait the same time.
                result.parked += 1
                await asyncio.sleep(min(exc.retry_after or 1.0, 2.0))
            except Exception as exc:  # a benchmark reports errors, it does not stop on them
                name = type(exc).__name__
                result.errors[name] = result.errors.get(name, 0) + 1

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(concurrency)))
    result.seconds = round(time.monotonic() - started, 2)
    result.calls = len(latencies)
    result.achieved_per_second = round(units / result.seconds, 2) if result.seconds else 0.0
    return latencies


async def throughput(case: Case, calls: int, concurrency: int) -> PhaseResult:
    result = PhaseResult(case.system, "throughput", case.operation, unit=case.unit)
    harness = case.start(limited=False)
    try:
        client = harness.open_client(UnlimitedBudget())
        server_thread = harness.server_native_id()
        await drive(harness, client, concurrency=concurrency, calls=min(20, calls), seconds=None, result=result)
        result.throttled = result.parked = 0
        result.errors.clear()
        cpu_client, cpu_server = time.thread_time(), thread_cpu(server_thread)
        latencies = await drive(harness, client, concurrency=concurrency, calls=calls, seconds=None, result=result)
        cpu_client, cpu_server = time.thread_time() - cpu_client, thread_cpu(server_thread) - cpu_server
        await harness.close_client(client)
    finally:
        harness.stop()
    done = max(result.calls, 1)
    result.calls_per_second = round(result.calls / result.seconds, 1) if result.seconds else 0.0
    result.p50_ms = round(percentile(latencies, 50), 2)
    result.p99_ms = round(percentile(latencies, 99), 2)
    result.client_cpu_ms_per_call = round(cpu_client * 1000 / done, 3)
    result.sandbox_cpu_ms_per_call = round(cpu_server * 1000 / done, 3)
    return result


async def at_limit(case: Case, seconds: float, concurrency: int) -> PhaseResult:
    result = PhaseResult(case.system, "at_limit", case.operation, unit=case.unit, published_limit=case.published_limit)
    harness = case.start(limited=True)
    store = open_store("memory://")
    db = DbExecutor(threads=2)
    try:
        partner = store.create_partner("bench")
        client_id = store.create_client(partner, "bench")
        connection_id = store.create_connection(client_id, case.system, "bench", {}, b"")
        budget: RateBudget = StoreRateBudget(
            store,
            db,
            client_id=client_id,
            connection_id=connection_id,
            limits=merged_limits(case.spec_limits(), {}),
            clock=lambda: datetime.now(UTC),
            max_inline_wait=5.0,
        )
        client = harness.open_client(budget)
        latencies = await drive(harness, client, concurrency=concurrency, calls=None, seconds=seconds, result=result)
        await harness.close_client(client)
    finally:
        harness.stop()
        db.shutdown()
        store.close()
    result.calls_per_second = round(result.calls / result.seconds, 1) if result.seconds else 0.0
    result.p50_ms = round(percentile(latencies, 50), 2)
    result.p99_ms = round(percentile(latencies, 99), 2)
    if case.limit_per_second:
        allowed = case.limit_burst + case.limit_per_second * result.seconds  # a full bucket, then its refill
        result.share_of_limit_pct = round(100 * result.achieved_per_second * result.seconds / allowed, 1)
    return result


def line(r: PhaseResult) -> str:
    if r.phase == "throughput":
        return (
            f"{r.system:16} throughput  {r.operation:28} {r.calls_per_second:8.1f} calls/s  p50 {r.p50_ms:7.2f} ms  "
            f"p99 {r.p99_ms:7.2f} ms  client {r.client_cpu_ms_per_call:6.3f} ms CPU/call  "
            f"sandbox {r.sandbox_cpu_ms_per_call:6.3f} ms CPU/call  errors {r.errors or 0}"
        )
    share = f"{r.share_of_limit_pct:5.1f} % of limit" if r.share_of_limit_pct is not None else "   (no rate limit)"
    return (
        f"{r.system:16} at limit    {r.operation:28} {r.achieved_per_second:8.2f} {r.unit}/s = {share}  "
        f"[{r.published_limit}]  429s {r.throttled}  parked {r.parked}  errors {r.errors or 0}"
    )


async def main_async(args: argparse.Namespace) -> list[PhaseResult]:
    wanted = [s.strip() for s in args.only.split(",")] if args.only else list(CASES)
    unknown = [s for s in wanted if s not in CASES]
    if unknown:
        raise SystemExit(f"unknown connector(s): {', '.join(unknown)}; known: {', '.join(CASES)}")
    results: list[PhaseResult] = []
    for system in wanted:
        case = CASES[system]
        for phase in (throughput(case, args.calls, args.concurrency), at_limit(case, args.seconds, args.concurrency)):
            result = await phase
            results.append(result)
            print(json.dumps(asdict(result)) if args.json else line(result), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated connectors (default: all)")
    parser.add_argument("--calls", type=int, default=300, help="calls in the throughput phase (default 300)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the at-limit phase (default 10)")
    parser.add_argument("--concurrency", type=int, default=8, help="calls in flight (default 8)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args()
    if args.calls < 1 or args.seconds <= 0 or args.concurrency < 1:
        raise SystemExit("--calls, --seconds and --concurrency must be positive")
    results = asyncio.run(main_async(args))
    storms = [r.system for r in results if r.phase == "at_limit" and r.throttled > max(3, r.calls // 20)]
    summary = {"connectors": len({r.system for r in results}), "throttle_storms": storms}
    print(json.dumps(summary) if args.json else f"summary: {summary}")
    sys.exit(1 if storms else 0)


if __name__ == "__main__":
    main()
