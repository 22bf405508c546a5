"""Holds, healed exceptions, step calls and snapshot scans on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_store_contract import T0, finish, item, tenant

from tradewire.errors import Conflict, NotFound
from tradewire.runtime.store.port import RunState, StepRecord, Store
from tradewire.runtime.store.port_facts import (
    ExceptionFilter,
    ExceptionsResolved,
    ExceptionState,
    ObjectSnapshot,
    OpenException,
)
from tradewire.runtime.store.port_operations import HoldPlaced, HoldReleased, HoldState
from tradewire.tenancy.context import client_scope

REASONS = ({"rule": "high_value", "detail": "total 1200.00 USD ≥ 1000"},)


def parked_on_hold(store: Store) -> tuple[str, int]:
    """A run that held order o-1 and is parked waiting."""
    client, conn = tenant(store)
    store.ingest([item(client, conn, "e1")])
    claimed = store.claim("w", 1, 30, T0)[0]
    park = finish(
        claimed.run.id,
        client,
        "w",
        claimed.run.attempt,
        RunState.WAITING,
        next_at=T0 + timedelta(hours=1),
        facts=(HoldPlaced("o-1", "#1001", conn, REASONS),),
    )
    assert store.apply([park], T0) == [True]
    return client, claimed.run.id


def test_a_hold_is_recorded_with_its_run_and_release_wakes_the_run(store: Store) -> None:
    client, run_id = parked_on_hold(store)
    with client_scope(client):
        hold = store.get_hold("o-1")
        assert hold is not None
        assert (hold.state, hold.run_id, hold.reasons, hold.held_by) == (HoldState.HELD, run_id, list(REASONS), "rules")
        assert [h.order_id for h in store.list_holds(HoldState.HELD)] == ["o-1"]
        assert store.claim("w", 1, 30, T0 + timedelta(minutes=1)) == []  # parked until next_at
        released = store.release_hold("o-1", "ops@agency", "called the buyer", T0 + timedelta(minutes=1))
        assert (released.state, released.released_by) == (HoldState.RELEASED, "ops@agency")
        with pytest.raises(Conflict, match="already released"):
            store.release_hold("o-1", "ops@agency", "again", T0 + timedelta(minutes=2))
        with pytest.raises(NotFound, match="not held"):
            store.release_hold("o-2", "ops@agency", "never held", T0)
        assert store.list_holds(HoldState.HELD) == []
    [woken] = store.claim("w", 1, 30, T0 + timedelta(minutes=1))
    assert woken.run.id == run_id


def test_rules_never_re_hold_a_released_order_but_an_operator_can(store: Store) -> None:
    client, _ = parked_on_hold(store)
    with client_scope(client):
        store.record_facts([HoldReleased("o-1", "tradewire", "address completed")], T0)
        store.record_facts([HoldReleased("o-1", "tradewire", "twice is a no-op")], T0)
        store.record_facts([HoldPlaced("o-1", "#1001", None, REASONS)], T0 + timedelta(minutes=1))
        hold = store.get_hold("o-1")
        assert hold is not None
        assert (hold.state, hold.release_reason) == (HoldState.RELEASED, "address completed")
        manual = HoldPlaced(
            "o-1", "#1001", None, ({"rule": "manual", "detail": "chargeback"},), held_by="cli", manual=True
        )
        store.record_facts([manual], T0 + timedelta(minutes=2))
        again = store.get_hold("o-1")
        assert again is not None
        assert (again.state, again.held_by, again.released_at) == (HoldState.HELD, "cli", None)


def test_a_succeeding_run_resolves_the_exceptions_it_healed(store: Store) -> None:
    client, conn = tenant(store)
    problem = OpenException("unknown_sku:o-1", "unknown_sku", "order", "o-1", "SKU X not in the ERP")
    with client_scope(client):
        store.record_facts([problem, OpenException("other", "unknown_sku", "order", "o-2", "still open")], T0)
    store.ingest([item(client, conn, "e1")])
    claimed = store.claim("w", 1, 30, T0)[0]
    healed = ExceptionsResolved(("unknown_sku:o-1", "never-opened"), "order reached the ERP")
    assert store.apply([finish(claimed.run.id, client, "w", claimed.run.attempt, facts=(healed,))], T0) == [True]
    with client_scope(client):
        [still] = store.list_exceptions(ExceptionFilter())
        [closed] = store.list_exceptions(ExceptionFilter(state=ExceptionState.RESOLVED))
    assert still.key == "other"
    assert (closed.key, closed.resolved_by, closed.resolution) == (
        "unknown_sku:o-1",
        "tradewire",
        "order reached the ERP",
    )


def test_step_calls_are_kept_with_the_step(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "e1")])
    claimed = store.claim("w", 1, 30, T0)[0]
    call = {
        "system": "netsuite",
        "method": "PUT",
        "host": "127.0.0.1:9",
        "path": "/salesOrder/eid:o-1",
        "status": 204,
        "ms": 12.5,
        "at": T0.isoformat(),
    }
    steps = (StepRecord("upsert", 1, {"ref": "7"}, T0, T0, calls=(call,)), StepRecord("record", 1, None, T0, T0))
    assert store.apply([finish(claimed.run.id, client, "w", claimed.run.attempt, steps=steps)], T0) == [True]
    with client_scope(client):
        run = store.get_run(claimed.run.id)
    assert {s.name: s.calls for s in run.steps} == {"upsert": (call,), "record": ()}


def test_snapshots_are_scanned_by_age_in_pages(store: Store) -> None:
    client, _ = tenant(store)
    with client_scope(client):
        for n in range(5):
            snap = ObjectSnapshot("order", f"o-{n}", f"#{n}", "v1", {"number": f"#{n}"})
            store.record_facts([snap], T0 + timedelta(minutes=n))
        first = store.list_objects("order", T0 + timedelta(minutes=3), limit=2)
        rest = store.list_objects("order", T0 + timedelta(minutes=3), after_id=first[-1].canonical_id, limit=2)
        assert [o.canonical_id for o in first + rest] == ["o-0", "o-1", "o-2"]
        assert store.list_objects("shipment", T0 + timedelta(days=1)) == []
