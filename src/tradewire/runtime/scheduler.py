"""The scheduler: one leader runs the periodic sweeps; the others stand by.

On PostgreSQL the leader holds a session advisory lock (it dies with its connection); on
SQLite a lease row. Sweeps: re-queue runs with expired leases, wake runs whose dependency
ended without waking them, purge succeeded runs past retention; then the jobs it was given
(polling connectors) — the runtime knows them only as callables.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.port import Store
from tradewire.settings import SchedulerSettings

log = logging.getLogger("tradewire.scheduler")

LEADER_LOCK = "tradewire-scheduler"
PURGE_EVERY = timedelta(hours=1)


class Scheduler:
    """Leader election plus the sweeps."""

    def __init__(
        self,
        store: Store,
        settings: SchedulerSettings,
        *,
        owner: str,
        max_rescues: int = 10,
        db: DbExecutor | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        jobs: Sequence[Callable[[], Awaitable[dict[str, int]]]] = (),
    ) -> None:
        self.store = store
        self.settings = settings
        self.owner = owner
        self.max_rescues = max_rescues
        self.db = db or DbExecutor(threads=1)
        self.clock = clock
        self.is_leader = False
        self._last_purge: datetime | None = None
        self.jobs = list(jobs)
        self._job_tasks: dict[int, asyncio.Task[None]] = {}

    async def tick(self) -> dict[str, int]:
        """One round: lead if possible, then sweep. Returns what the sweeps did."""
        now = self.clock()
        ttl = max(self.settings.tick_seconds * 5, 5.0)
        leader = await self.db.call(self.store.try_lead, LEADER_LOCK, self.owner, ttl, now)
        if leader != self.is_leader:
            log.info("scheduler leadership %s", "acquired" if leader else "lost", extra={"owner": self.owner})
        self.is_leader = leader
        if not leader:
            return {}
        done = {
            "rescued": await self.db.call(self.store.rescue_expired, now, self.max_rescues),
            "woken": await self.db.call(self.store.wake_orphaned_waiters, now),
        }
        if self._last_purge is None or now - self._last_purge >= PURGE_EVERY:
            cutoff = now - timedelta(days=self.settings.retention_days)
            done["purged"] = await self.db.call(self.store.purge_succeeded, cutoff)
            self._last_purge = now
        self.start_jobs()
        return done

    def start_jobs(self) -> None:
        """Start each job that is not still running from an earlier tick, in its own task.

        Jobs (polling every connector) can take seconds; run inline they would delay the lease
        sweeps above, so they run beside them and a slow one is simply not started twice.
        """
        for index, job in enumerate(self.jobs):
            running = self._job_tasks.get(index)
            if running is None or running.done():
                self._job_tasks[index] = asyncio.create_task(self._run_job(job), name=f"scheduler-job-{index}")

    @staticmethod
    async def _run_job(job: Callable[[], Awaitable[dict[str, int]]]) -> None:
        try:
            counters = await job()
        except Exception:
            log.exception("scheduled job failed")
        else:
            if any(counters.values()):
                log.info("scheduled job done", extra={"counters": counters})

    async def stop_jobs(self) -> None:
        """Cancel running jobs (their work is transactional: a cancelled poll re-reads its last page)."""
        tasks = [task for task in self._job_tasks.values() if not task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._job_tasks.clear()

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set, then stop the jobs still running."""
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except Exception:
                    log.exception("scheduler tick failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.tick_seconds)
        finally:
            await self.stop_jobs()
