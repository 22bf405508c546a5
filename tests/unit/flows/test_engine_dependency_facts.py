"""What a run learnt before it waits for a dependency is kept (snapshots, bindings, events).

``order_to_erp`` records the order's snapshot in ``map_order``, then waits for ``customer_to_erp``
when the customer is new. The finished steps are checkpointed while it waits and skipped when
it resumes, so whatever they recorded must be committed with the wait, or it is lost for good.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tradewire.flows.context import FlowEnv, StepContext
from tradewire.flows.engine import Flow, FlowEngine, Step
from tradewire.flows.retry import RetryPolicy
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.memory import MemoryStore
from tradewire.runtime.store.port import IngestItem, NewRun, RunState
from tradewire.runtime.store.port_facts import ObjectSnapshot
from tradewire.tenancy.connections import ConnectionCache
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def test_facts_bindings_and_events_recorded_before_a_dependency_wait_are_committed() -> None:
    store = MemoryStore()
    client = store.create_client(store.create_partner("p"), "c")
    box = SecretBox("k" * 40)
    conn = store.create_connection(client, "netsuite", "ns", {}, box.seal({}))
    db = DbExecutor(threads=1)
    env = FlowEnv(store, db, ConnectionCache(store, box), RetryPolicy(base_seconds=1, cap_seconds=10), lambda: NOW)

    async def map_order(ctx: StepContext) -> dict[str, str]:
        ctx.record(ObjectSnapshot("order", "o-1", "#1001", "v1", {"number": "#1001"}))
        ctx.bind(conn, "order", "SO-1", "o-1")
        ctx.event("order", "o-1", "order.received")
        return {"order_id": "o-1"}

    async def resolve_customer(ctx: StepContext) -> None:
        ctx.need(NewRun("customer_flow", 1, dedupe_key="cust-1"))

    flow = Flow("test_flow", 1, (Step("map_order", map_order), Step("resolve_customer", resolve_customer)))
    store.ingest([IngestItem(client, conn, "s", "t", "k", b"{}", {}, (NewRun(flow.name, flow.version),), NOW)])
    claimed = store.claim("w", 1, 30, NOW)[0]
    outcome = asyncio.run(FlowEngine({flow.name: flow}, env).execute(claimed, "w"))
    db.shutdown()
    assert outcome.state is RunState.WAITING
    assert outcome.transition is None  # committed by the wait itself
    with client_scope(client):
        stored = store.get_object("order", "o-1")
        assert stored is not None
        assert stored.label == "#1001"
        assert store.find_bindings(conn, "order", ["o-1"]) == {"o-1": "SO-1"}
        assert [e.event for e in store.timeline("order", "o-1")] == ["order.received"]
    store.close()
