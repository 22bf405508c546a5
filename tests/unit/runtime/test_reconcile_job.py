"""The scheduler's reconciliation job: every client, every check, once per interval; a broken check is reported."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tradewire.errors import ConfigError
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.factory import open_store
from tradewire.runtime.store.port_facts import ExceptionFilter, ExceptionState
from tradewire.services.reconcile import Finding, ReconcileContext, reconcile
from tradewire.services.reconcile_job import ReconcileJob
from tradewire.tenancy.context import client_scope

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class Drift:
    """A check whose findings the test sets."""

    keys: list[str]
    name: str = "sku_drift"
    description: str = "test drift"
    broken: bool = False

    def find(self, ctx: ReconcileContext) -> list[Finding]:
        if self.broken:
            raise ConfigError("channel not configured")
        return [Finding(k, "sku", k, f"{k} differs") for k in self.keys]

    def heal(self, ctx: ReconcileContext, finding: Finding) -> str | None:
        return "republished" if finding.key == "A" else None


def test_findings_open_exceptions_that_close_when_the_drift_is_gone() -> None:
    store = open_store("memory://")
    client = store.create_client(store.create_partner("P"), "R")
    drift = Drift(["A", "B"])
    [first] = reconcile(store, client, NOW, checks=[drift], grace=timedelta(0))
    assert [f["key"] for f in first.findings] == ["A", "B"]
    assert first.healed == [{"key": "A", "action": "republished"}]
    [again] = reconcile(store, client, NOW, checks=[drift], grace=timedelta(0))
    drift.keys = ["B"]
    [later] = reconcile(store, client, NOW + timedelta(minutes=5), checks=[drift], grace=timedelta(0))
    assert later.resolved == 1
    with client_scope(client):
        [still] = store.list_exceptions(ExceptionFilter(kind="sku_drift"))
        [gone] = store.list_exceptions(ExceptionFilter(state=ExceptionState.RESOLVED, kind="sku_drift"))
    assert (still.key, still.occurrences) == ("reconcile:sku_drift:B", 3)
    assert (gone.key, gone.resolved_by) == ("reconcile:sku_drift:A", "reconcile")
    assert again.error is None
    broken = Drift([], broken=True)
    [failed] = reconcile(store, client, NOW, checks=[broken], grace=timedelta(0))
    assert failed.error == "channel not configured"
    store.close()


def test_the_job_runs_once_per_interval_for_every_client() -> None:
    store = open_store("memory://")
    partner = store.create_partner("P")
    for name in ("R1", "R2"):
        store.create_client(partner, name)
    db = DbExecutor(threads=1)
    job = ReconcileJob(store, db, every_seconds=3600, grace_seconds=0, clock=lambda: NOW)

    async def twice() -> tuple[dict[str, int], dict[str, int]]:
        return await job.tick(), await job.tick()

    first, second = asyncio.run(twice())
    assert first == {"findings": 0, "healed": 0, "resolved": 0}
    assert second == {}
    off = ReconcileJob(store, db, every_seconds=0, grace_seconds=0, clock=lambda: NOW)
    assert asyncio.run(off.tick()) == {}
    db.shutdown()
    store.close()
