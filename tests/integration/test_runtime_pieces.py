"""Runtime pieces against real stores: rate budgets, wake-ups, the worker's commit path, logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tradewire.connectors.base.budget import RateLimit
from tradewire.errors import RateBudgetWait
from tradewire.observability.logging import bind_context, configure
from tradewire.runtime.budget import StoreRateBudget
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.factory import open_store
from tradewire.runtime.store.port import ClaimedRun, IngestItem, NewRun, RunState, Store, Transition
from tradewire.runtime.worker import Worker
from tradewire.settings import WorkerSettings
from tradewire.tenancy.context import client_scope


def tenant(store: Store) -> tuple[str, str]:
    client = store.create_client(store.create_partner("p"), "c")
    return client, store.create_connection(client, "netsuite", "ns", {}, b"x")


def enqueue(store: Store, client: str, conn: str, n: int) -> None:
    now = datetime.now(UTC)
    store.ingest(
        [IngestItem(client, conn, "s", "t", f"k{i}", b"{}", {}, (NewRun("demo_flow", 1),), now) for i in range(n)]
    )


def test_budget_waits_briefly_then_parks_the_run(store: Store) -> None:
    client, conn = tenant(store)
    db = DbExecutor(threads=1)
    clock_now = [datetime.now(UTC)]
    budget = StoreRateBudget(
        store, db, client_id=client, connection_id=conn, limits={"rest": RateLimit("rest", 10.0, 2.0)},
        clock=lambda: clock_now[0], max_inline_wait=0.0,
    )  # fmt: skip

    async def run() -> None:
        await budget.acquire("rest")
        await budget.acquire("rest")
        with pytest.raises(RateBudgetWait) as caught:
            await budget.acquire("rest")
        assert caught.value.retry_after is not None
        assert caught.value.retry_after <= 0.2

    asyncio.run(run())
    db.shutdown()


def test_two_budgets_share_one_bucket(store: Store) -> None:
    client, conn = tenant(store)
    db = DbExecutor(threads=1)
    now = datetime.now(UTC)
    limits = {"rest": RateLimit("rest", 0.001, 4.0)}
    a = StoreRateBudget(
        store, db, client_id=client, connection_id=conn, limits=limits, clock=lambda: now, max_inline_wait=0
    )
    b = StoreRateBudget(
        store, db, client_id=client, connection_id=conn, limits=limits, clock=lambda: now, max_inline_wait=0
    )

    async def take(budget: StoreRateBudget) -> int:
        got = 0
        for _ in range(10):
            try:
                await budget.acquire("rest")
                got += 1
            except RateBudgetWait:
                break
        return got

    async def run() -> tuple[int, int]:
        return await take(a), await take(b)

    first, second = asyncio.run(run())
    assert first + second == 4
    db.shutdown()


def test_postgres_notify_wakes_listeners(pg_url: str) -> None:
    store = open_store(pg_url)
    try:
        client, conn = tenant(store)
        woke = threading.Event()
        stop = store.subscribe_wakeups(woke.set)
        assert stop is not None
        try:
            deadline = datetime.now(UTC) + timedelta(seconds=10)
            while not woke.is_set() and datetime.now(UTC) < deadline:
                enqueue(store, client, conn, 1)  # the listener may still be connecting: send until heard
                woke.wait(0.3)
            assert woke.is_set()
        finally:
            stop()
    finally:
        store.close()


class _Done:
    def __init__(self, state: RunState, transition: Transition | None) -> None:
        self.state, self.transition, self.summary = state, transition, state.value


class _Executor:
    """Finishes every run; optionally sleeps first (to lose the lease)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.seen: list[int] = []

    async def execute(self, claimed: ClaimedRun, worker_id: str) -> _Done:
        self.seen.append(claimed.run.id)
        await asyncio.sleep(self.delay)
        r = claimed.run
        return _Done(RunState.SUCCEEDED, Transition(r.id, r.client_id, worker_id, r.attempt, RunState.SUCCEEDED))


def run_worker_until(store: Store, executor: Any, done: Any, settings: WorkerSettings, timeout: float = 20.0) -> Worker:
    async def main() -> Worker:
        stop = asyncio.Event()
        worker = Worker(store, executor, settings, db=DbExecutor(threads=2))
        task = asyncio.create_task(worker.run(stop))
        deadline = asyncio.get_running_loop().time() + timeout
        while not done() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
        stop.set()
        await task
        return worker

    return asyncio.run(main())


def test_worker_runs_everything_once_with_group_commits(store: Store) -> None:
    client, conn = tenant(store)
    enqueue(store, client, conn, 120)
    executor = _Executor()

    def done() -> bool:
        with client_scope(client):
            return store.count_by_state() == {"succeeded": 120}

    worker = run_worker_until(
        store, executor, done, WorkerSettings(concurrency=32, claim_batch=16, idle_poll_seconds=0.01)
    )
    assert done()
    assert sorted(executor.seen) == sorted(set(executor.seen))
    assert worker.finished == 120


def test_a_worker_that_lost_its_lease_changes_nothing(store: Store) -> None:
    client, conn = tenant(store)
    enqueue(store, client, conn, 1)
    slow = _Executor(delay=1.5)
    settings = WorkerSettings(concurrency=1, lease_seconds=1.0, heartbeat_seconds=30, idle_poll_seconds=0.01)

    async def main() -> None:
        stop = asyncio.Event()
        worker = Worker(store, slow, settings, db=DbExecutor(threads=1), worker_id="zombie")
        task = asyncio.create_task(worker.run(stop))
        await asyncio.sleep(1.2)
        assert await asyncio.to_thread(store.rescue_expired, datetime.now(UTC)) == 1
        rescued = await asyncio.to_thread(store.claim, "rescuer", 1, 30, datetime.now(UTC))
        await asyncio.sleep(0.6)
        stop.set()
        await task
        assert len(rescued) == 1
        with client_scope(client):
            run = store.get_run(rescued[0].run.id)
        assert run.state is RunState.RUNNING
        assert run.lease_owner == "rescuer"

    asyncio.run(main())


def test_logs_are_json_with_the_work_context() -> None:
    stream = io.StringIO()
    configure("INFO", json_output=True, stream=stream)
    try:
        with bind_context(client="c-1", connection="conn-1", message=7, run=42, flow="order_to_erp", step="map_order"):
            logging.getLogger("tradewire.test").info("mapped", extra={"order": "#1001"})
        line = json.loads(stream.getvalue().strip().splitlines()[-1])
    finally:
        logging.getLogger().handlers.clear()
    assert line["event"] == "mapped"
    assert {k: line[k] for k in ("client", "connection", "message", "run", "flow", "step")} == {
        "client": "c-1", "connection": "conn-1", "message": 7, "run": 42, "flow": "order_to_erp", "step": "map_order",
    }  # fmt: skip
    assert line["order"] == "#1001"
    assert line["level"] == "info"
