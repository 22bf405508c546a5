"""RMAs written as facts, and healed exceptions, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from test_store_contract import T0, finish, tenant
from test_store_facts_contract import UNKNOWN_SKU, claimed_run

from tradewire.runtime.store.port import RunState, Store
from tradewire.runtime.store.port_facts import ExceptionFilter, ExceptionsResolved, ExceptionState
from tradewire.runtime.store.port_returns import RmaFilter, RmaSnapshot
from tradewire.tenancy.context import client_scope


def snapshot(version: int, state: str, rma_id: str = "rma-1", order_id: str = "order-1") -> RmaSnapshot:
    return RmaSnapshot(rma_id, order_id, state, version, {"id": rma_id, "state": state, "version": version})


def test_an_rma_keeps_its_highest_version(store: Store) -> None:
    client, _ = tenant(store)
    with client_scope(client):
        store.record_facts([snapshot(1, "authorized"), snapshot(3, "received"), snapshot(2, "in_transit")], T0)
        stored = store.get_rma("rma-1")
        assert stored is not None
        assert (stored.version, stored.state, stored.body["state"]) == (3, "received", "received")
        store.record_facts([snapshot(3, "cancelled")], T0)  # an equal version (a replay) changes nothing
        again = store.get_rma("rma-1")
        assert again is not None
        assert again.state == "received"
        assert store.get_rma("nope") is None


def test_rmas_are_listed_by_state_and_order_within_their_client(store: Store) -> None:
    client, _ = tenant(store)
    other, _ = tenant(store)
    with client_scope(client):
        store.record_facts([snapshot(1, "authorized", "a", "o1"), snapshot(1, "received", "b", "o2")], T0)
        assert [r.rma_id for r in store.list_rmas(RmaFilter(state="received"))] == ["b"]
        assert [r.rma_id for r in store.list_rmas(RmaFilter(order_id="o1"))] == ["a"]
        assert {r.rma_id for r in store.list_rmas(RmaFilter())} == {"a", "b"}
    with client_scope(other):
        assert store.list_rmas(RmaFilter()) == []
        assert store.get_rma("a") is None


def test_a_run_resolves_the_exceptions_it_healed(store: Store) -> None:
    client, run_id, attempt = claimed_run(store)
    with client_scope(client):
        store.record_facts([UNKNOWN_SKU], T0)
    healed = ExceptionsResolved([UNKNOWN_SKU.key, "not-open"], "the order arrived")
    done = finish(run_id, client, "w", attempt, RunState.SUCCEEDED, facts=(healed, snapshot(1, "authorized")))
    assert store.apply([done], T0) == [True]
    with client_scope(client):
        [record] = store.list_exceptions(ExceptionFilter(state=None))
        assert (record.state, record.resolution, record.resolved_by) == (
            ExceptionState.RESOLVED, "the order arrived", "tradewire",
        )  # fmt: skip
        stored = store.get_rma("rma-1")
        assert stored is not None
        assert stored.order_id == "order-1"
