"""The scheduler's reconciliation job: every ``scheduler.reconcile_seconds``, every client, every check."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.port import Store
from tradewire.services.reconcile import checks_named, reconcile


class ReconcileJob:
    """Runs reconciliation for each client when its interval has passed (the scheduler calls ``tick``)."""

    def __init__(
        self, store: Store, db: DbExecutor, *, every_seconds: float, grace_seconds: float, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.db = db
        self.every = every_seconds
        self.grace = timedelta(seconds=grace_seconds)
        self.clock = clock
        self._last: float | None = None

    async def tick(self) -> dict[str, int]:
        """Reconcile every client if due; returns counts of findings, healed runs and resolved exceptions."""
        if self.every <= 0 or (self._last is not None and time.monotonic() - self._last < self.every):
            return {}
        self._last = time.monotonic()
        return await self.db.call(self.run_all)

    def run_all(self) -> dict[str, int]:
        """One round over every client (blocking)."""
        counts = {"findings": 0, "healed": 0, "resolved": 0}
        checks = checks_named(None)
        for client_id, _ in self.store.list_clients():
            for report in reconcile(self.store, client_id, self.clock(), checks=checks, grace=self.grace):
                counts["findings"] += len(report.findings)
                counts["healed"] += len(report.healed)
                counts["resolved"] += report.resolved
        return counts
