"""Follow-up runs queued with a run's commit (``FollowUpRun``), on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from test_store_contract import T0, finish, item, tenant

from tradewire.runtime.store.port import RunFilter, RunState, Store
from tradewire.runtime.store.port_fulfilment import FollowUpRun
from tradewire.tenancy.context import client_scope


def invoice_for(connection_id: str) -> FollowUpRun:
    return FollowUpRun("invoice_in_erp", 1, "invoice:o-1", {"order_id": "o-1"}, connection_id, "invoice:o-1")


def test_a_follow_up_run_is_queued_once_with_the_run_that_asked_for_it(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "e1"), item(client, conn, "e2")])
    first, second = store.claim("w", 2, 30, T0)
    done = [
        finish(c.run.id, client, "w", c.run.attempt, RunState.SUCCEEDED, facts=(invoice_for(conn),))
        for c in (first, second)
    ]
    assert store.apply(done, T0) == [True, True]
    (follow_up,) = store.claim("w", 5, 30, T0)
    assert (follow_up.run.flow, follow_up.run.input) == ("invoice_in_erp", {"order_id": "o-1"})
    assert follow_up.run.connection_id == conn
    with client_scope(client):
        assert len(store.list_runs(RunFilter(flow="invoice_in_erp"))) == 1, "the second ask is a no-op"


def test_a_zombie_transition_queues_no_follow_up(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "e1")])
    (claimed,) = store.claim("w", 1, 30, T0)
    stale = finish(
        claimed.run.id, client, "zombie", claimed.run.attempt, RunState.SUCCEEDED, facts=(invoice_for(conn),)
    )
    assert store.apply([stale], T0) == [False]
    assert store.claim("w", 5, 30, T0) == []
