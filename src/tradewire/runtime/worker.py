"""The worker: claims runs in batches, executes them concurrently, commits them in groups.

One asyncio loop per process keeps up to ``concurrency`` runs in flight. Transitions of
finished runs are group-committed (one transaction for everything that ended within a
couple of milliseconds). Leases are renewed every ``heartbeat_seconds``; every worker also
re-queues runs whose lease expired, so a killed worker's runs are picked up by the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from tradewire.observability import metrics
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.port import ClaimedRun, RunState, Store, Transition
from tradewire.settings import WorkerSettings

log = logging.getLogger("tradewire.worker")

COMMIT_WINDOW_SECONDS = 0.002
COMMIT_BATCH_MAX = 256
MAINTENANCE_SECONDS = 5.0


class ExecutionResult(Protocol):
    """What an executor says about one run."""

    state: RunState
    transition: Transition | None
    summary: str


class RunExecutor(Protocol):
    """Executes flows by name (the runtime never imports flows)."""

    async def execute(self, claimed: ClaimedRun, worker_id: str) -> ExecutionResult: ...


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def new_worker_id() -> str:
    """host:pid:random, unique per worker process start."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class _Pending:
    transition: Transition
    future: asyncio.Future[bool]


class Worker:
    """One worker process's claim/execute/commit loop."""

    def __init__(
        self,
        store: Store,
        executor: RunExecutor,
        settings: WorkerSettings,
        *,
        db: DbExecutor | None = None,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.executor = executor
        self.settings = settings
        self.db = db or DbExecutor(threads=4)
        self.worker_id = worker_id or new_worker_id()
        self.clock = clock
        self.inflight: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._commits: asyncio.Queue[_Pending] = asyncio.Queue()
        self.finished = 0

    def wake(self) -> None:
        """Look for work now (called by NOTIFY or by an in-process ingest)."""
        self._wake.set()

    def _wake_threadsafe(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event, *, drain_seconds: float = 10.0) -> None:
        """Work until ``stop`` is set, then finish in-flight runs for up to ``drain_seconds``."""
        loop = asyncio.get_running_loop()
        unsubscribe = self.store.subscribe_wakeups(lambda: self._wake_threadsafe(loop))
        helpers = [
            asyncio.create_task(self._committer(), name="committer"),
            asyncio.create_task(self._heartbeats(stop), name="heartbeat"),
            asyncio.create_task(self._maintenance(stop), name="maintenance"),
        ]
        log.info("worker started", extra={"worker": self.worker_id, "concurrency": self.settings.concurrency})
        try:
            await self._claim_loop(stop)
        finally:
            if self.inflight:
                await asyncio.wait(list(self.inflight.values()), timeout=drain_seconds)
            await self._flush_commits()
            for task in helpers:
                task.cancel()
            for task in helpers:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if unsubscribe is not None:
                unsubscribe()
            log.info("worker stopped", extra={"worker": self.worker_id, "finished": self.finished})

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            free = self.settings.concurrency - len(self.inflight)
            claimed: list[ClaimedRun] = []
            if free > 0:
                self._wake.clear()
                try:
                    claimed = await self.db.call(
                        self.store.claim,
                        self.worker_id,
                        min(free, self.settings.claim_batch),
                        self.settings.lease_seconds,
                        self.clock(),
                    )
                except Exception:
                    log.exception("claim failed; retrying", extra={"worker": self.worker_id})
                    await _sleep_or_stop(stop, 1.0)
                    continue
                metrics.RUNS_CLAIMED.inc(len(claimed))
                for item in claimed:
                    self.inflight[item.run.id] = asyncio.create_task(self._execute(item))
            if claimed and len(claimed) == min(free, self.settings.claim_batch):
                await asyncio.sleep(0)  # more may be waiting: claim again right away
                continue
            timeout = self.settings.idle_poll_seconds
            waiter = asyncio.create_task(self._wake.wait())
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({waiter, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()

    async def _execute(self, claimed: ClaimedRun) -> None:
        run = claimed.run
        started = time.perf_counter()
        try:
            result = await self.executor.execute(claimed, self.worker_id)
            if result.transition is not None:
                applied = await self._commit(result.transition)
                if not applied:
                    log.warning(
                        "lease lost: another worker rescued this run; its outcome was discarded",
                        extra={"run": run.id, "flow": run.flow, "worker": self.worker_id},
                    )
                    metrics.LEASES_LOST.inc()
                    return
            metrics.RUNS_FINISHED.labels(flow=run.flow, state=result.state.value).inc()
            metrics.RUN_SECONDS.labels(flow=run.flow).observe(time.perf_counter() - started)
            self.finished += 1
        except Exception:
            log.exception(
                "run crashed the executor; its lease will expire and it will be retried", extra={"run": run.id}
            )
        finally:
            self.inflight.pop(run.id, None)
            self._wake.set()

    async def _commit(self, transition: Transition) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self._commits.put(_Pending(transition, future))
        return await future

    async def _committer(self) -> None:
        while True:
            first = await self._commits.get()
            batch = [first]
            deadline = time.monotonic() + COMMIT_WINDOW_SECONDS
            while len(batch) < COMMIT_BATCH_MAX:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._commits.get(), remaining))
                except TimeoutError:
                    break
            await self._apply(batch)

    async def _apply(self, batch: list[_Pending]) -> None:
        for attempt in range(5):
            try:
                results = await self.db.call(self.store.apply, [p.transition for p in batch], self.clock())
                metrics.COMMIT_BATCH.observe(len(batch))
                for pending, ok in zip(batch, results, strict=True):
                    if not pending.future.done():
                        pending.future.set_result(ok)
                return
            except Exception:
                log.exception("group commit failed (try %s of 5)", attempt + 1)
                await asyncio.sleep(0.2 * (attempt + 1))
        for pending in batch:  # leases will expire and the runs will be retried elsewhere
            if not pending.future.done():
                pending.future.set_result(False)

    async def _flush_commits(self) -> None:
        batch: list[_Pending] = []
        while not self._commits.empty():
            batch.append(self._commits.get_nowait())
        if batch:
            await self._apply(batch)

    async def _heartbeats(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await _sleep_or_stop(stop, self.settings.heartbeat_seconds)
            ids = list(self.inflight)
            if not ids:
                continue
            until = self.clock() + timedelta(seconds=self.settings.lease_seconds)
            try:
                await self.db.call(self.store.heartbeat, self.worker_id, ids, until)
            except Exception:
                log.exception("heartbeat failed")

    async def _maintenance(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                rescued = await self.db.call(self.store.rescue_expired, self.clock(), self.settings.max_rescues)
                woken = await self.db.call(self.store.wake_orphaned_waiters, self.clock())
                if rescued:
                    metrics.RUNS_RESCUED.inc(rescued)
                    log.warning("re-queued runs whose lease expired", extra={"count": rescued})
                if rescued or woken:
                    self._wake.set()
            except Exception:
                log.exception("maintenance sweep failed")
            await _sleep_or_stop(stop, MAINTENANCE_SECONDS)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
