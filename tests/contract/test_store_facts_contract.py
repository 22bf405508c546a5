"""Facts committed with runs: exceptions and stock movements, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from tests.contract.test_store_contract import T0, finish, item, tenant

from tradewire.errors import Conflict, NotFound
from tradewire.runtime.store.port import RunState, Store
from tradewire.runtime.store.port_facts import (
    ExceptionFilter,
    ExceptionState,
    ObjectSnapshot,
    OpenException,
    StockMovement,
    StockMovementKind,
)
from tradewire.tenancy.context import client_scope

UNKNOWN_SKU = OpenException(
    key="unknown_sku:SKU-9",
    kind="unknown_sku",
    object_type="sku",
    canonical_id="SKU-9",
    message="SKU-9 is not in the ERP; create it there, then replay",
    detail={"order": "#1001"},
)


def claimed_run(store: Store, key: str = "e1") -> tuple[str, int, int]:
    client, conn = tenant(store)
    store.ingest([item(client, conn, key)])
    claimed = store.claim("w", 1, 30, T0)[0]
    return client, claimed.run.id, claimed.run.attempt


def test_an_exception_opened_by_a_dead_run_is_listed_with_its_run(store: Store) -> None:
    client, run_id, attempt = claimed_run(store)
    dead = finish(run_id, client, "w", attempt, RunState.DEAD, last_error="unknown SKU", facts=(UNKNOWN_SKU,))
    assert store.apply([dead], T0) == [True]
    with client_scope(client):
        [opened] = store.list_exceptions(ExceptionFilter())
    assert (opened.kind, opened.canonical_id, opened.state) == ("unknown_sku", "SKU-9", ExceptionState.OPEN)
    assert opened.run_id == run_id
    assert opened.detail == {"order": "#1001"}
    assert opened.occurrences == 1


def test_opening_an_open_exception_again_counts_it_and_a_resolved_one_reopens(store: Store) -> None:
    client, _, _ = claimed_run(store)
    with client_scope(client):
        store.record_facts([UNKNOWN_SKU], T0)
        store.record_facts([UNKNOWN_SKU], T0 + timedelta(minutes=1))
        [again] = store.list_exceptions(ExceptionFilter())
        assert again.occurrences == 2
        resolved = store.resolve_exception(again.id, "ops@agency", "created the item", T0 + timedelta(minutes=2))
        assert (resolved.state, resolved.resolved_by) == (ExceptionState.RESOLVED, "ops@agency")
        assert store.list_exceptions(ExceptionFilter()) == []
        with pytest.raises(Conflict):
            store.resolve_exception(again.id, "ops@agency", "twice", T0)
        store.record_facts([UNKNOWN_SKU], T0 + timedelta(minutes=3))
        [reopened] = store.list_exceptions(ExceptionFilter())
    assert reopened.id == again.id
    assert reopened.state is ExceptionState.OPEN
    assert reopened.resolved_by is None


def test_exceptions_resolved_by_key_and_filtered(store: Store) -> None:
    client, _, _ = claimed_run(store)
    other = OpenException("drift:order:1", "order_not_in_erp", "order", "o-1", "order #1 is not in the ERP")
    with client_scope(client):
        store.record_facts([UNKNOWN_SKU, other], T0)
        assert [e.kind for e in store.list_exceptions(ExceptionFilter(kind="order_not_in_erp"))] == ["order_not_in_erp"]
        assert [e.key for e in store.list_exceptions(ExceptionFilter(object_type="sku"))] == [UNKNOWN_SKU.key]
        assert store.resolve_exceptions_by_key([other.key, "no-such-key"], "reconciliation", "healed", T0) == 1
        assert [e.key for e in store.list_exceptions(ExceptionFilter(state=None))] == [other.key, UNKNOWN_SKU.key]
        assert [e.key for e in store.list_exceptions(ExceptionFilter())] == [UNKNOWN_SKU.key]


def test_one_client_never_sees_another_clients_exceptions(store: Store) -> None:
    client, _, _ = claimed_run(store)
    stranger, _ = tenant(store)
    with client_scope(client):
        store.record_facts([UNKNOWN_SKU], T0)
        [mine] = store.list_exceptions(ExceptionFilter())
    with client_scope(stranger):
        assert store.list_exceptions(ExceptionFilter(state=None)) == []
        with pytest.raises(NotFound):
            store.get_exception(mine.id)
        with pytest.raises(NotFound):
            store.resolve_exception(mine.id, "intruder", "no", T0)


def test_a_zombies_facts_are_dropped_with_its_transition(store: Store) -> None:
    client, run_id, attempt = claimed_run(store)
    assert store.rescue_expired(T0 + timedelta(seconds=31)) == 1
    ship = StockMovement("ship:s1:SKU-1", StockMovementKind.SHIP, "SKU-1", 2, reference="s1")
    late = finish(run_id, client, "w", attempt, facts=(UNKNOWN_SKU, ship))
    assert store.apply([late], T0 + timedelta(seconds=32)) == [False]
    with client_scope(client):
        assert store.list_exceptions(ExceptionFilter(state=None)) == []


def test_a_repeated_stock_movement_is_recorded_once(store: Store) -> None:
    client, run_id, attempt = claimed_run(store)
    ship = StockMovement("ship:s1:SKU-1", StockMovementKind.SHIP, "SKU-1", 2, location="WH1", reference="s1")
    assert store.apply([finish(run_id, client, "w", attempt, facts=(ship, ship))], T0) == [True]
    with client_scope(client):
        store.record_facts([ship], T0)
    # the inventory ledger reads movements; here we only prove a repeat inserts nothing twice
    assert _movement_count(store, client) == 1


@dataclass(frozen=True)
class NoWriter:
    key: str


def test_a_fact_without_a_writer_fails_loudly_and_commits_nothing(store: Store) -> None:
    client, run_id, attempt = claimed_run(store)
    with pytest.raises(TypeError, match="no writer for fact NoWriter"):
        store.apply([finish(run_id, client, "w", attempt, facts=(NoWriter("x"),))], T0)
    with client_scope(client):
        assert store.get_run(run_id).state is RunState.RUNNING


def _movement_count(store: Store, client: str) -> int:
    from sqlalchemy import func, select

    from tradewire.runtime.store.tables import stock_movements

    with store.read() as conn:  # type: ignore[attr-defined]
        return int(
            conn.execute(
                select(func.count()).select_from(stock_movements).where(stock_movements.c.client_id == client)
            ).scalar_one()
        )


def snapshot(version: str, status: str, label: str = "#1001") -> ObjectSnapshot:
    return ObjectSnapshot("order", "o-1", label, version, {"number": label, "status": status})


def test_the_newest_snapshot_wins_whatever_order_they_arrive_in(store: Store) -> None:
    client, run_id, attempt = claimed_run(store)
    newer = snapshot("2026-11-23T12:05:00+00:00", "cancelled")
    older = snapshot("2026-11-23T12:00:00+00:00", "open")
    assert store.apply([finish(run_id, client, "w", attempt, facts=(newer, older))], T0) == [True]
    with client_scope(client):
        stored = store.get_object("order", "o-1")
        assert stored is not None
        assert (stored.version, stored.body["status"]) == (newer.version, "cancelled")
        store.record_facts([snapshot("2026-11-23T12:10:00+00:00", "closed")], T0)
        assert [o.body["status"] for o in store.find_objects("order", "#1001")] == ["closed"]
        assert store.get_object("order", "o-2") is None
        assert store.find_objects("order", "#9999") == []


def test_one_client_never_reads_another_clients_snapshots(store: Store) -> None:
    client, _, _ = claimed_run(store)
    stranger, _ = tenant(store)
    with client_scope(client):
        store.record_facts([snapshot("2026-11-23T12:00:00+00:00", "open")], T0)
    with client_scope(stranger):
        assert store.get_object("order", "o-1") is None
        assert store.find_objects("order", "#1001") == []
