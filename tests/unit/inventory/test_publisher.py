"""The outbox publisher on the in-memory store with fake channels: coalescing, own sales, partial batches."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from tradewire.canonical import InventoryLevel
from tradewire.connectors.base.stock import PublishOutcome
from tradewire.errors import RetryableError
from tradewire.flows.context import FlowEnv
from tradewire.flows.retry import RetryPolicy
from tradewire.inventory.publisher import OutboxPublisher, PublishReport
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.memory import MemoryStore
from tradewire.runtime.store.port_inventory import OnHandSnapshot, OrderCommitment
from tradewire.tenancy.connections import ConnectionCache
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

T0 = datetime(2026, 11, 23, 10, tzinfo=UTC)


class FakeChannel:
    """Records calls; sends at most ``budget`` SKUs per publish call before running out."""

    max_batch = 3

    def __init__(self) -> None:
        self.calls: list[dict[str, int]] = []
        self.budget: int | None = None

    async def publish(self, levels: Sequence[InventoryLevel]) -> list[PublishOutcome]:
        allowed = list(levels) if self.budget is None else list(levels)[: self.budget]
        if not allowed:
            raise RetryableError("no budget", retry_after=1.0)
        self.calls.append({lv.sku: lv.available for lv in allowed})
        return [PublishOutcome(lv.sku, True) for lv in allowed]

    async def aclose(self) -> None:
        return None


def setup() -> tuple[MemoryStore, str, dict[str, FakeChannel], OutboxPublisher]:
    store = MemoryStore()
    client = store.create_client(store.create_partner("p"), "c")
    channels = {"shop": FakeChannel(), "amz": FakeChannel()}
    env = FlowEnv(store, DbExecutor(threads=1), ConnectionCache(store, SecretBox("k" * 48)), RetryPolicy(), lambda: T0)

    async def open_publisher(connection_id: str) -> FakeChannel:
        return channels[connection_id]

    with client_scope(client):
        document = {"channels": [{"connection": "shop", "percentage": 50}, {"connection": "amz", "percentage": 50}]}
        store.put_inventory_policy(document, "test", T0)
    return store, client, channels, OutboxPublisher(env, open_publisher=open_publisher)


def drain(publisher: OutboxPublisher, client: str) -> PublishReport:
    async def run() -> PublishReport:
        with client_scope(client):
            return await publisher.drain()

    return asyncio.run(run())


def test_many_changes_of_a_sku_cost_one_call_per_channel_with_the_latest_value() -> None:
    store, client, channels, publisher = setup()
    with client_scope(client):
        for minute, units in enumerate((10, 7, 12, 8)):
            store.record_facts([OnHandSnapshot("A", None, units, T0 + timedelta(minutes=minute))], T0)
    report = drain(publisher, client)
    assert (channels["shop"].calls, channels["amz"].calls) == ([{"A": 4}], [{"A": 4}])
    assert report.sent == 2
    with client_scope(client):
        assert store.dirty_skus() == []
        assert {p.policy_version for p in store.list_publications()} == {1}


def test_a_sale_needs_no_call_to_its_own_channel_and_changes_nothing_on_the_others() -> None:
    store, client, channels, publisher = setup()
    with client_scope(client):
        store.record_facts([OnHandSnapshot("A", None, 10, T0)], T0)
    drain(publisher, client)
    with client_scope(client):  # the shop sold 2 (it lowered its own listing from 5 to 3 already)
        store.record_facts([OrderCommitment("o1", "shop", T0.isoformat(), {"A": 2})], T0)
    report = drain(publisher, client)
    assert (report.sent, report.unchanged) == (0, 2)
    assert (len(channels["shop"].calls), len(channels["amz"].calls)) == (1, 1)
    with client_scope(client):  # cancelled: the shop gets its 2 units back
        store.record_facts([OrderCommitment("o1", "shop", "~cancelled", {})], T0)
    drain(publisher, client)
    assert channels["shop"].calls[-1] == {"A": 5}
    assert len(channels["amz"].calls) == 1


def test_skus_not_sent_when_the_budget_runs_out_stay_dirty_and_go_next_time() -> None:
    store, client, channels, publisher = setup()
    with client_scope(client):
        store.record_facts([OnHandSnapshot(sku, None, 4, T0) for sku in "ABCDE"], T0)
    channels["amz"].budget = 2
    first = drain(publisher, client)
    assert "amz" in first.deferred
    with client_scope(client):
        assert {d.sku for d in store.dirty_skus()} == {"C", "D", "E"}
    channels["amz"].budget = None
    drain(publisher, client)
    sent = {sku: q for call in channels["amz"].calls for sku, q in call.items()}
    assert sent == dict.fromkeys("ABCDE", 2)
    assert sum(len(call) for call in channels["shop"].calls) == 5  # the shop got each SKU once


def test_the_scheduler_tick_drains_every_client() -> None:
    store, client, channels, publisher = setup()
    with client_scope(client):
        store.record_facts([OnHandSnapshot("A", None, 6, T0)], T0)
    counters = asyncio.run(publisher.tick())
    assert (counters["sent"], counters["deferred"]) == (2, 0)
    assert channels["shop"].calls == [{"A": 3}]
