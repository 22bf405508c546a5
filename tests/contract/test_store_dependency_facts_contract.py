"""A run that parks for a dependency keeps the facts its finished steps recorded (bug fix).

``map_order`` records the order's snapshot, then ``resolve_customer`` waits for a new customer:
the re-run skips the finished ``map_order``, so a snapshot dropped with the wait was never written.
"""

from __future__ import annotations

from datetime import timedelta

from test_store_contract import T0, item, tenant

from tradewire.runtime.store.port import NewRun, StepRecord, Store, Transition
from tradewire.runtime.store.port_facts import ObjectSnapshot
from tradewire.tenancy.context import client_scope


def test_facts_of_a_parent_that_waits_for_a_dependency_are_kept(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "order-1", ordering_key="order:1")])
    parent = store.claim("w", 1, 30, T0)[0].run
    snapshot = ObjectSnapshot("order", "o-1", "#1001", "2026-11-23T10:00:00+00:00", {"id": "o-1"})
    step = StepRecord("map_order", parent.attempt, {"id": "o-1"}, T0, T0)
    fence = Transition(parent.id, client, "w", parent.attempt, None, steps=(step,), facts=(snapshot,))
    child = NewRun(flow="customer_to_erp", flow_version=1, dedupe_key="customer:bob")
    assert store.ensure_dependency(fence, child, T0, T0 + timedelta(hours=1)).parent_waiting
    with client_scope(client):
        stored = store.get_object("order", "o-1")
    assert stored is not None
    assert stored.label == "#1001"
