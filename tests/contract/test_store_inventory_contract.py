"""The inventory ledger in the store, on memory, SQLite and PostgreSQL: positions, commitments, outbox."""

from __future__ import annotations

from datetime import timedelta

from test_store_contract import T0, finish, item, tenant

from tradewire.runtime.store.port import RunState, Store
from tradewire.runtime.store.port_facts import StockMovement, StockMovementKind
from tradewire.runtime.store.port_inventory import OnHandSnapshot, OrderCommitment, Publication
from tradewire.tenancy.context import client_scope

V1 = "2026-11-23T10:00:00+00:00"
V2 = "2026-11-23T10:05:00+00:00"
V3 = "2026-11-23T10:09:00+00:00"


def position(store: Store, sku: str, location: str = "") -> tuple[int, int, int]:
    """(on hand figure, adjust, committed) of one position."""
    found = [p for p in store.stock_positions([sku]) if p.location == location]
    assert found, f"no position for {sku}@{location!r}"
    return found[0].on_hand, found[0].adjust, found[0].committed


def test_commitments_follow_the_newest_order_version_and_ignore_replays_and_older_ones(store: Store) -> None:
    client, _ = tenant(store)
    with client_scope(client):
        store.record_facts([OrderCommitment("o1", "shop", V1, {"A": 3, "B": 1})], T0)
        store.record_facts([OrderCommitment("o1", "shop", V1, {"A": 3, "B": 1})], T0)  # replay
        assert position(store, "A")[2] == 3
        store.record_facts([OrderCommitment("o1", "shop", V3, {"A": 1, "B": 1})], T0)  # partial cancel of A
        store.record_facts([OrderCommitment("o1", "shop", V2, {"A": 5, "B": 1})], T0)  # late, older update
        assert (position(store, "A")[2], position(store, "B")[2]) == (1, 1)
        store.record_facts([OrderCommitment("o1", "shop", "2026-11-23T11:00:00+00:00", {})], T0)  # cancelled
        assert (position(store, "A")[2], position(store, "B")[2]) == (0, 0)


def test_a_ship_consumes_the_commitment_and_counts_until_a_newer_figure_arrives(store: Store) -> None:
    client, _ = tenant(store)
    with client_scope(client):
        store.record_facts([OnHandSnapshot("A", None, 10, T0)], T0)
        store.record_facts([OrderCommitment("o1", "shop", V1, {"A": 4})], T0)
        ship = StockMovement("ship:s1:A", StockMovementKind.SHIP, "A", 4, reference="o1", at=T0 + timedelta(minutes=5))
        store.record_facts([ship, ship], T0 + timedelta(minutes=5))
        assert position(store, "A") == (10, -4, 0)  # 6 on the shelf, nothing committed
        # An older figure (taken before the shipment) changes nothing.
        store.record_facts([OnHandSnapshot("A", None, 10, T0 + timedelta(minutes=1))], T0)
        assert store.stock_positions(["A"])[0].physical == 6
        # A figure newer than the shipment already includes it: no double count, no gap.
        store.record_facts([OnHandSnapshot("A", None, 6, T0 + timedelta(minutes=6))], T0)
        assert position(store, "A") == (6, 0, 0)
        # Cancelling the shipped order afterwards releases nothing: its units left the building.
        store.record_facts([OrderCommitment("o1", "shop", V2, {})], T0)
        assert position(store, "A") == (6, 0, 0)


def test_restock_raises_on_hand_and_write_off_does_not(store: Store) -> None:
    client, _ = tenant(store)
    with client_scope(client):
        store.record_facts([OnHandSnapshot("A", "main", 2, T0)], T0)
        at = T0 + timedelta(minutes=1)
        store.record_facts(
            [
                StockMovement("restock:r1:A", StockMovementKind.RESTOCK, "A", 3, location="main", at=at),
                StockMovement("write_off:r2:A", StockMovementKind.WRITE_OFF, "A", 7, location="main", at=at),
            ],
            at,
        )
        assert store.stock_positions(["A"])[0].physical == 5


def test_changes_mark_skus_dirty_and_a_clear_keeps_skus_that_changed_again(store: Store) -> None:
    client, _ = tenant(store)
    with client_scope(client):
        store.record_facts([OnHandSnapshot("A", None, 5, T0), OnHandSnapshot("B", None, 5, T0)], T0)
        dirty = store.dirty_skus()
        assert [d.sku for d in dirty] == ["A", "B"]
        store.record_facts([OrderCommitment("o1", "shop", V1, {"A": 1})], T0 + timedelta(seconds=1))
        assert store.clear_dirty(dirty) == 1
        [still] = store.dirty_skus()
        assert (still.sku, still.changed_at) == ("A", T0)  # the first unpublished change keeps its time


def test_commitments_recorded_by_a_run_are_committed_with_it(store: Store) -> None:
    client, conn = tenant(store)
    store.ingest([item(client, conn, "e1")])
    claimed = store.claim("w", 1, 30, T0)[0]
    fact = OrderCommitment("o1", conn, V1, {"A": 2})
    done = finish(claimed.run.id, client, "w", claimed.run.attempt, RunState.SUCCEEDED, facts=(fact,))
    zombie = finish(claimed.run.id, client, "other", claimed.run.attempt, RunState.SUCCEEDED, facts=(fact,))
    assert store.apply([zombie], T0) == [False]
    with client_scope(client):
        assert store.stock_positions(["A"]) == []
    assert store.apply([done], T0) == [True]
    with client_scope(client):
        assert position(store, "A")[2] == 2


def test_policies_are_versioned_audited_and_publications_become_listings(store: Store) -> None:
    client, _ = tenant(store)
    with client_scope(client):
        store.record_facts([OnHandSnapshot("A", None, 5, T0)], T0)
        store.clear_dirty(store.dirty_skus())
        first = store.put_inventory_policy({"channels": []}, "ops@agency", T0)
        second = store.put_inventory_policy({"channels": [{"connection": "c1"}]}, "ops@agency", T0)
        assert (first.version, second.version) == (1, 2)
        assert [d.sku for d in store.dirty_skus()] == ["A"]  # a new policy republishes everything
        current = store.get_inventory_policy()
        assert current is not None
        assert current.document == {"channels": [{"connection": "c1"}]}
        assert [p.version for p in store.inventory_policy_history()] == [2, 1]
        store.record_publications(
            [Publication("A", "c1", 3, 2, True, changed_at=T0), Publication("B", "c1", 1, 2, False, "unknown SKU")],
            T0 + timedelta(seconds=2),
        )
        [listing] = store.channel_listings(["A", "B"])
        assert (listing.sku, listing.quantity, listing.policy_version) == ("A", 3, 2)
        log = store.list_publications()
        assert [(p.sku, p.accepted, p.error) for p in log] == [("B", False, "unknown SKU"), ("A", True, None)]


def test_each_channel_holds_the_open_units_of_its_own_orders(store: Store) -> None:
    client, _ = tenant(store)
    with client_scope(client):
        store.record_facts(
            [OrderCommitment("o1", "shop", V1, {"A": 3}), OrderCommitment("o2", "amz", V1, {"A": 2})], T0
        )
        store.record_facts([OrderCommitment("o1", "shop", V2, {"A": 1})], T0)  # two cancelled on shop
        ship = StockMovement("ship:s2:A", StockMovementKind.SHIP, "A", 2, reference="o2", at=T0)
        store.record_facts([ship], T0)
        held = {(h.connection_id, h.open, h.sold) for h in store.channel_positions(["A"])}
        assert held == {("shop", 1, 3), ("amz", 0, 2)}  # sold never goes down: channels count their own sales
