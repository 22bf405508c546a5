"""The scheduler's jobs (polling) run beside its sweeps: never inline, never twice at once, stopped on exit."""

from __future__ import annotations

import asyncio

from tradewire.runtime.scheduler import Scheduler
from tradewire.runtime.store.factory import open_store
from tradewire.settings import SchedulerSettings


def test_a_slow_job_neither_delays_the_sweeps_nor_runs_twice_and_stops_with_the_scheduler() -> None:
    started: list[float] = []
    cancelled: list[bool] = []

    async def slow_poll() -> dict[str, int]:
        started.append(asyncio.get_running_loop().time())
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return {"polled": 1}

    async def scenario() -> tuple[float, int]:
        store = open_store("memory://")
        scheduler = Scheduler(store, SchedulerSettings(tick_seconds=0.05), owner="test", jobs=[slow_poll])
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        begun = loop.time()
        await scheduler.tick()
        tick_seconds = loop.time() - begun
        runner = asyncio.create_task(scheduler.run(stop))
        await asyncio.sleep(0.3)  # several more ticks while the first poll is still running
        stop.set()
        await asyncio.wait_for(runner, 5)
        store.close()
        return tick_seconds, len(started)

    tick_seconds, starts = asyncio.run(scenario())
    assert tick_seconds < 5, "the tick returned without waiting for the 30 s job"
    assert starts == 1, "a job still running is not started again"
    assert cancelled == [True], "stopping the scheduler stops its running job"
