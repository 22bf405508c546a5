"""The store contract: memory, SQLite and PostgreSQL behave the same."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tradewire.errors import Conflict, NotFound, TenantContextMissing
from tradewire.runtime.store.factory import open_store
from tradewire.runtime.store.port import (
    Binding,
    CursorUpdate,
    IngestItem,
    NewRun,
    RunFilter,
    RunState,
    StepRecord,
    Store,
    TimelineEvent,
    Transition,
)
from tradewire.tenancy.context import client_scope

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def tenant(store: Store) -> tuple[str, str]:
    partner = store.create_partner("Agency")
    client = store.create_client(partner, f"Retailer {uuid.uuid4().hex[:6]}")
    connection = store.create_connection(client, "shopify", "Main store", {"shop": "x"}, b"secret")
    return client, connection


def item(
    client: str, connection: str, key: str, *, ordering_key: str | None = None, seq: int = 0, at: datetime = T0
) -> IngestItem:
    return IngestItem(
        client_id=client,
        connection_id=connection,
        source=f"shopify:{connection}",
        topic="orders/create",
        idempotency_key=key,
        body=b'{"id": 1}',
        headers={"x-shopify-topic": "orders/create"},
        runs=(NewRun(flow="order_to_erp", flow_version=1, ordering_key=ordering_key, ordering_seq=seq),),
        received_at=at,
    )


def finish(
    run_id: int, client: str, owner: str, attempt: int, state: RunState = RunState.SUCCEEDED, **kw: object
) -> Transition:
    return Transition(run_id=run_id, client_id=client, lease_owner=owner, attempt=attempt, state=state, **kw)  # type: ignore[arg-type]


def test_ingest_stores_message_and_run_once(store: Store) -> None:
    client, conn = tenant(store)
    first = store.ingest([item(client, conn, "evt-1")])
    again = store.ingest([item(client, conn, "evt-1")])
    assert not first[0].duplicate
    assert len(first[0].run_ids) == 1
    assert again[0].duplicate
    assert again[0].run_ids == ()
    assert again[0].message_id == first[0].message_id
    with client_scope(client):
        assert store.count_by_state() == {"queued": 1}
        message = store.get_message(first[0].message_id)
    assert message.body == b'{"id": 1}'
    assert message.headers["x-shopify-topic"] == "orders/create"


def test_duplicates_inside_one_batch_are_no_ops(store: Store) -> None:
    client, conn = tenant(store)
    results = store.ingest([item(client, conn, "dup"), item(client, conn, "dup"), item(client, conn, "other")])
    assert [r.duplicate for r in results] == [False, True, False]
    with client_scope(client):
        assert store.count_by_state() == {"queued": 2}


def test_tenant_queries_refuse_without_client_context(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "evt")])
    with pytest.raises(TenantContextMissing):
        store.list_runs(RunFilter())
    with pytest.raises(TenantContextMissing):
        store.get_binding(conn, "order", "1")


def test_one_client_never_sees_another_clients_runs(store: Store) -> None:
    client_a, conn_a = tenant(store)
    client_b, _ = tenant(store)
    run_id = store.ingest([item(client_a, conn_a, "evt")])[0].run_ids[0]
    with client_scope(client_b):
        assert store.list_runs(RunFilter()) == []
        with pytest.raises(NotFound):
            store.get_run(run_id)
        with pytest.raises(NotFound):
            store.get_connection(conn_a)


def test_claim_takes_due_runs_and_bumps_attempt(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, f"e{i}") for i in range(5)])
    claimed = store.claim("w1", 3, 30, T0)
    assert len(claimed) == 3
    assert all(c.run.state is RunState.RUNNING and c.run.attempt == 1 and c.run.lease_owner == "w1" for c in claimed)
    assert all(c.body == b'{"id": 1}' and c.topic == "orders/create" for c in claimed)
    assert len(store.claim("w2", 10, 30, T0)) == 2
    assert store.claim("w3", 10, 30, T0) == []


def test_future_runs_are_not_claimed(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "later", at=T0 + timedelta(minutes=5))])
    assert store.claim("w", 10, 30, T0) == []
    assert store.next_due(T0) == T0 + timedelta(minutes=5)
    assert len(store.claim("w", 10, 30, T0 + timedelta(minutes=5))) == 1


def test_one_key_runs_one_at_a_time_in_order(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "create", ordering_key="order:1", seq=10)])
    store.ingest([item(client, conn, "cancel", ordering_key="order:1", seq=20)])
    store.ingest([item(client, conn, "other", ordering_key="order:2", seq=5)])
    claimed = store.claim("w", 10, 30, T0)
    keys = sorted((c.run.ordering_key or "", c.run.ordering_seq) for c in claimed)
    assert keys == [("order:1", 10), ("order:2", 5)]
    create = next(c for c in claimed if c.run.ordering_key == "order:1")
    assert store.claim("w", 10, 30, T0) == []
    assert store.apply([finish(create.run.id, client, "w", create.run.attempt)], T0) == [True]
    nxt = store.claim("w", 10, 30, T0)
    assert [(c.run.ordering_key, c.run.ordering_seq) for c in nxt] == [("order:1", 20)]


def test_a_late_arrival_with_an_earlier_seq_goes_first(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "cancel", ordering_key="order:9", seq=20)])
    store.ingest([item(client, conn, "create", ordering_key="order:9", seq=10)])
    claimed = store.claim("w", 10, 30, T0)
    assert [c.run.ordering_seq for c in claimed] == [10]


def test_a_running_run_blocks_its_key_even_for_earlier_seqs(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "cancel", ordering_key="order:7", seq=20)])
    running = store.claim("w", 10, 30, T0)
    assert len(running) == 1
    store.ingest([item(client, conn, "create", ordering_key="order:7", seq=10)])
    assert store.claim("w", 10, 30, T0) == []
    retry = finish(running[0].run.id, client, "w", 1, RunState.RETRY_SCHEDULED, next_at=T0 + timedelta(seconds=30))
    assert store.apply([retry], T0) == [True]
    assert [c.run.ordering_seq for c in store.claim("w", 10, 30, T0)] == [10]


def test_rescue_fences_out_the_zombie(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "e")])
    zombie = store.claim("zombie", 1, 30, T0)[0]
    assert store.rescue_expired(T0 + timedelta(seconds=10)) == 0
    assert store.rescue_expired(T0 + timedelta(seconds=31)) == 1
    rescued = store.claim("rescuer", 1, 30, T0 + timedelta(seconds=31))[0]
    assert rescued.run.attempt == zombie.run.attempt + 1
    late = finish(zombie.run.id, client, "zombie", zombie.run.attempt, RunState.DEAD, last_error="zombie says dead")
    assert store.apply([late], T0 + timedelta(seconds=32)) == [False]
    assert store.apply([finish(rescued.run.id, client, "rescuer", rescued.run.attempt)], T0) == [True]
    with client_scope(client):
        run = store.get_run(rescued.run.id)
    assert run.state is RunState.SUCCEEDED
    assert run.last_error is None


def test_heartbeat_keeps_a_lease(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "e")])
    run = store.claim("w", 1, 30, T0)[0]
    assert store.heartbeat("w", [run.run.id], T0 + timedelta(seconds=60)) == 1
    assert store.heartbeat("other", [run.run.id], T0 + timedelta(seconds=90)) == 0
    assert store.rescue_expired(T0 + timedelta(seconds=45)) == 0
    assert store.rescue_expired(T0 + timedelta(seconds=61)) == 1


def test_apply_records_steps_bindings_and_timeline(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "e")])
    run = store.claim("w", 1, 30, T0)[0].run
    step = StepRecord("map_order", run.attempt, {"number": "#1001"}, T0, T0 + timedelta(milliseconds=3))
    checkpoint = Transition(run.id, client, "w", run.attempt, None, steps=(step,))
    assert store.apply([checkpoint], T0) == [True]
    done = finish(
        run.id,
        client,
        "w",
        run.attempt,
        bindings=(Binding(conn, "order", "450789469", "canon-1"),),
        timeline=(TimelineEvent("order", "canon-1", "order.exported", system="netsuite", external_id="SO-1"),),
    )
    assert store.apply([done], T0) == [True]
    with client_scope(client):
        stored = store.get_run(run.id)
        assert stored.state is RunState.SUCCEEDED
        assert stored.ended_at is not None
        assert [s.name for s in stored.steps] == ["map_order"]
        assert stored.steps[0].output == {"number": "#1001"}
        assert store.get_binding(conn, "order", "450789469") == Binding(conn, "order", "450789469", "canon-1")
        assert store.find_bindings(conn, "order", ["canon-1", "missing"]) == {"canon-1": "450789469"}
        events = store.timeline("order", "canon-1")
    assert [(e.event, e.external_id, e.run_id) for e in events] == [("order.exported", "SO-1", run.id)]


def test_a_rerun_sees_its_finished_steps(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "e")])
    run = store.claim("w", 1, 30, T0)[0].run
    step = StepRecord("map_order", run.attempt, {"ok": 1}, T0, T0)
    retry = finish(
        run.id, client, "w", run.attempt, RunState.RETRY_SCHEDULED, steps=(step,), failures=1, last_error="429"
    )
    assert store.apply([retry], T0) == [True]
    again = store.claim("w", 1, 30, T0)[0]
    assert again.run.failures == 1
    assert again.run.last_error == "429"
    assert set(again.done_steps) == {"map_order"}
    assert again.done_steps["map_order"].output == {"ok": 1}


def test_dependency_parks_the_parent_until_the_child_ends(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "order-1", ordering_key="order:1")])
    parent = store.claim("w", 1, 30, T0)[0].run
    child = NewRun(
        flow="customer_to_erp",
        flow_version=1,
        ordering_key="customer:bob",
        input={"email": "bob@x.io"},
        dedupe_key="customer:bob",
    )
    fence = Transition(parent.id, client, "w", parent.attempt, None)
    outcome = store.ensure_dependency(fence, child, T0, T0 + timedelta(hours=1))
    assert outcome.parent_waiting
    assert outcome.state is RunState.QUEUED
    claimed = store.claim("w", 10, 30, T0)
    assert [c.run.flow for c in claimed] == ["customer_to_erp"]
    assert claimed[0].run.input == {"email": "bob@x.io"}
    assert store.apply([finish(claimed[0].run.id, client, "w", claimed[0].run.attempt)], T0) == [True]
    woken = store.claim("w", 10, 30, T0)
    assert [c.run.id for c in woken] == [parent.id]
    again = store.ensure_dependency(Transition(parent.id, client, "w", woken[0].run.attempt, None), child, T0, T0)
    assert not again.parent_waiting
    assert again.state is RunState.SUCCEEDED
    assert again.run_id == claimed[0].run.id


def test_missed_wake_ups_are_swept(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "p")])
    parent = store.claim("w", 1, 30, T0)[0].run
    child = NewRun(flow="customer_to_erp", flow_version=1, dedupe_key="c")
    store.ensure_dependency(
        Transition(parent.id, client, "w", parent.attempt, None), child, T0, T0 + timedelta(hours=1)
    )
    assert store.wake_orphaned_waiters(T0) == 0
    c = store.claim("w", 1, 30, T0)[0].run
    store.apply([finish(c.id, client, "w", c.attempt)], T0)
    assert store.wake_orphaned_waiters(T0) == 0  # already woken by the child's own transition
    with client_scope(client):
        assert store.get_run(parent.id).state is RunState.QUEUED


def test_replay_from_a_step_keeps_earlier_steps(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "e")])
    run = store.claim("w", 1, 30, T0)[0].run
    steps = tuple(
        StepRecord(name, run.attempt, {"n": i}, T0 + timedelta(seconds=i), T0 + timedelta(seconds=i))
        for i, name in enumerate(["map_order", "resolve_customer", "upsert_sales_order"])
    )
    store.apply(
        [finish(run.id, client, "w", run.attempt, RunState.DEAD, steps=steps, last_error="NetSuite said no")], T0
    )
    with client_scope(client):
        assert store.dead_run_ids(None, None) == [run.id]
        with pytest.raises(Conflict):
            store.replay([run.id], "never_ran", T0)
        assert store.replay([run.id], "resolve_customer", T0) == [run.id]
        assert store.dead_run_ids(None, None) == []
        with pytest.raises(Conflict):
            store.replay([run.id], None, T0)
    again = store.claim("w", 1, 30, T0)[0]
    assert set(again.done_steps) == {"map_order"}
    assert again.run.start_step == "resolve_customer"
    assert again.run.failures == 0
    assert again.run.last_error is None


def test_token_bucket_is_shared_and_refills(store: Store) -> None:
    client, conn = tenant(store)
    grants = [store.take_tokens(client, conn, "rest", 1, 1, 2.0, 3.0, T0).granted for _ in range(4)]
    assert grants == [1, 1, 1, 0]
    empty = store.take_tokens(client, conn, "rest", 1, 1, 2.0, 3.0, T0)
    assert empty.granted == 0
    assert empty.wait_seconds == pytest.approx(0.5)
    assert store.take_tokens(client, conn, "rest", 5, 1, 2.0, 3.0, T0 + timedelta(seconds=1)).granted == 2


def test_cursor_and_audit_chain(store: Store) -> None:
    client, conn = tenant(store)
    with client_scope(client):
        assert store.get_cursor(conn, "orders") is None
        store.set_cursor(conn, "orders", "2026-11-23T12:00:00Z", T0)
        store.set_cursor(conn, "orders", "2026-11-23T12:05:00Z", T0)
        assert store.get_cursor(conn, "orders") == "2026-11-23T12:05:00Z"
        first = store.append_audit("cli:alice", "run.replay", "run:1", {"from": None}, T0)
        second = store.append_audit("cli:alice", "run.replay", "run:2", {"from": None}, T0)
    assert first != second
    assert len(second) == 64


def test_a_polled_page_and_its_cursor_commit_together(store: Store) -> None:
    client, conn = tenant(store)
    page = [item(client, conn, "poll-1"), item(client, conn, "poll-2")]
    results = store.ingest(page, cursor=CursorUpdate(client, conn, "orders", "2026-11-23T12:00:00.000000Z"), now=T0)
    assert [r.duplicate for r in results] == [False, False]
    with client_scope(client):
        assert store.get_cursor(conn, "orders") == "2026-11-23T12:00:00.000000Z"
    broken = [item(client, conn, "poll-3"), item("no-such-client", conn, "poll-4")]
    with pytest.raises(Exception):  # noqa: B017 - each backend raises its own integrity error
        store.ingest(broken, cursor=CursorUpdate(client, conn, "orders", "2026-11-23T12:05:00.000000Z"), now=T0)
    with client_scope(client):
        assert store.get_cursor(conn, "orders") == "2026-11-23T12:00:00.000000Z", "the cursor moved without its page"
        assert store.count_by_state() == {"queued": 2}, "half a page was stored"


def test_connections_of_lists_every_clients_connections_of_those_systems(store: Store) -> None:
    first_client, first = tenant(store)
    second_client, second = tenant(store)
    erp = store.create_connection(second_client, "netsuite", "ERP", {}, b"s")
    found = {c.id: c.client_id for c in store.connections_of(["shopify"])}
    assert found[first] == first_client
    assert found[second] == second_client
    assert erp not in found
    assert store.connections_of([]) == []


def test_leadership_is_exclusive(store: Store) -> None:
    assert store.try_lead("scheduler", "a", 30, T0)
    assert store.try_lead("scheduler", "a", 30, T0)
    if store.dialect == "postgresql":
        other = open_store(store.url)  # type: ignore[attr-defined]
        try:
            assert not other.try_lead("scheduler", "b", 30, T0)
        finally:
            other.close()
    else:
        assert not store.try_lead("scheduler", "b", 30, T0 + timedelta(seconds=10))
        assert store.try_lead("scheduler", "b", 30, T0 + timedelta(seconds=31))


def test_purge_keeps_active_runs(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "old"), item(client, conn, "active")])
    old = store.claim("w", 1, 30, T0)[0].run
    store.apply([finish(old.id, client, "w", old.attempt)], T0)
    assert store.purge_succeeded(T0 + timedelta(days=31)) == 1
    with client_scope(client):
        assert store.count_by_state() == {"queued": 1}


def test_concurrent_claims_never_share_a_run(store: Store) -> None:
    if store.dialect == "memory":
        pytest.skip("the in-memory twin lives in one connection; concurrency is a file/server property")
    client, conn = tenant(store)
    store.ingest([item(client, conn, f"e{i}") for i in range(200)])
    seen: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while True:
            got = store.claim(name, 7, 30, T0)
            if not got:
                return
            with lock:
                seen.extend(c.run.id for c in got)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 200
    assert len(set(seen)) == 200


def test_a_run_that_keeps_killing_workers_goes_to_the_dead_letters(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "poison")])
    at = T0
    for rescue in range(1, 4):
        store.claim(f"w{rescue}", 1, 30, at)
        at += timedelta(seconds=31)
        assert store.rescue_expired(at, max_failures=3) == 1
    with client_scope(client):
        assert store.count_by_state() == {"dead": 1}
        run = store.get_run(store.dead_run_ids(None, None)[0])
    assert run.rescues == 3
    assert run.failures == 0
    assert run.error_type == "WorkerLost"
    assert "3 times" in (run.last_error or "")


def test_many_bindings_in_one_transition_skip_the_ones_already_there(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "a"), item(client, conn, "b")])
    first, second = (c.run for c in store.claim("w", 2, 30, T0))
    old = Binding(conn, "product", "11", "p-1")
    store.apply([finish(first.id, client, "w", first.attempt, bindings=(old,))], T0)
    many = (old, Binding(conn, "product", "12", "p-2"), Binding(conn, "product", "13", "p-3"))
    assert store.apply([finish(second.id, client, "w", second.attempt, bindings=many)], T0) == [True]
    with client_scope(client):
        assert store.find_bindings(conn, "product", ["p-1", "p-2", "p-3"]) == {"p-1": "11", "p-2": "12", "p-3": "13"}
