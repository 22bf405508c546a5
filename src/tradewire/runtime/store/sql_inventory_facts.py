"""Writers of the inventory ledger: stock movements, order commitments and on-hand snapshots.

Each writer keeps the SKU's ``stock_positions`` rows current in the transaction that records
the fact, and marks the SKU dirty for the publisher. Writers of one SKU are serialised with a
named lock (an advisory lock on PostgreSQL; SQLite has one writer anyway), taken in SKU order so
two batches never wait on each other.

Movement effects (only when the movement's key is new):

- COMMIT: committed += q.  RELEASE: committed -= q (never below 0).
- SHIP: consumes q of the commitment; lowers on hand (``adjust``) when the movement is newer than
  the on-hand figure, since that figure cannot include it yet.
- RESTOCK: raises on hand the same way.  WRITE_OFF, REFURBISH: no sellable effect (recorded only).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select

from tradewire.runtime.store.facts import FactRow, fact_writer
from tradewire.runtime.store.port_facts import StockMovement, StockMovementKind
from tradewire.runtime.store.port_inventory import DEFAULT_LOCATION, OnHandSnapshot, OrderCommitment
from tradewire.runtime.store.sql_base import SqlBase
from tradewire.runtime.store.sql_inventory_rows import bump_channel, bump_position, lock_skus, mark_dirty, position_row
from tradewire.runtime.store.tables import (
    inventory_orders,
    stock_movements,
    stock_positions,
)


def _newer_than_figure(conn: Connection, client_id: str, sku: str, location: str, at: datetime) -> bool:
    row = position_row(conn, client_id, sku, location)
    return row is None or row.on_hand_as_of is None or at > row.on_hand_as_of


def _order_row(conn: Connection, client_id: str, order_id: str) -> Any:
    return conn.execute(
        select(inventory_orders).where(
            inventory_orders.c.client_id == client_id, inventory_orders.c.order_id == order_id
        )
    ).first()


def _put_order(
    store: SqlBase, conn: Connection, client_id: str, order_id: str, values: dict[str, Any], now: datetime
) -> None:
    stmt = store.dialect_insert(inventory_orders)
    row = {"connection_id": None, "version": "", "lines": {}, "shipped": {}, **values, "updated_at": now}
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[inventory_orders.c.client_id, inventory_orders.c.order_id],
            set_={**values, "updated_at": now},
        ),
        {"client_id": client_id, "order_id": order_id, **row},
    )


def _note_shipped(
    store: SqlBase, conn: Connection, client_id: str, order_id: str, sku: str, qty: int, now: datetime
) -> None:
    """Shipped units of an order are no longer open on it (a later cancel or update must not touch them)."""
    row = _order_row(conn, client_id, order_id)
    if row is not None:
        bump_channel(store, conn, client_id, sku, row.connection_id, -qty, now)
    shipped = {k: int(v) for k, v in (row.shipped if row is not None else {}).items()}
    shipped[sku] = shipped.get(sku, 0) + qty
    _put_order(store, conn, client_id, order_id, {"shipped": shipped}, now)


def apply_movement(store: SqlBase, conn: Connection, client_id: str, m: dict[str, Any], now: datetime) -> None:
    """Apply one newly inserted movement's effect on the positions (see the module docstring)."""
    kind = StockMovementKind(m["kind"])
    sku, qty, at = m["sku"], int(m["quantity"]), m["at"]
    location = m["location"] or DEFAULT_LOCATION
    if kind is StockMovementKind.COMMIT:
        bump_position(store, conn, client_id, sku, location, now, committed=qty)
    elif kind is StockMovementKind.RELEASE:
        bump_position(store, conn, client_id, sku, location, now, committed=-qty)
    elif kind is StockMovementKind.SHIP:
        shelf = -qty if _newer_than_figure(conn, client_id, sku, location, at) else 0
        # Orders commit without a location: consume the ship location's commitment first, then the default's.
        here = position_row(conn, client_id, sku, location)
        from_here = min(qty, here.committed) if here is not None else 0
        bump_position(store, conn, client_id, sku, location, now, committed=-from_here, adjust=shelf)
        if qty > from_here and location != DEFAULT_LOCATION:
            bump_position(store, conn, client_id, sku, DEFAULT_LOCATION, now, committed=-(qty - from_here))
        if m.get("reference"):
            _note_shipped(store, conn, client_id, m["reference"], sku, qty, now)
    elif kind is StockMovementKind.RESTOCK:
        shelf = qty if _newer_than_figure(conn, client_id, sku, location, at) else 0
        bump_position(store, conn, client_id, sku, location, now, adjust=shelf)
    else:
        return  # write-off and refurbish do not change what can be sold
    mark_dirty(store, conn, client_id, [sku], now)


def insert_movement(store: SqlBase, conn: Connection, row: dict[str, Any], now: datetime) -> bool:
    """Append one movement and apply it; False when its key was already recorded (nothing changes)."""
    if store.insert_ignore(conn, stock_movements, [row]) == 0:
        return False
    apply_movement(store, conn, row["client_id"], row, now)
    return True


def write_movements(store: SqlBase, conn: Connection, rows: Sequence[FactRow], now: datetime) -> None:
    """Append each movement once and keep positions current (the ``StockMovement`` writer)."""
    for client_id in sorted({r.client_id for r in rows}):
        lock_skus(store, conn, client_id, (r.fact.sku for r in rows if r.client_id == client_id))
    for row in rows:
        fact: StockMovement = row.fact
        insert_movement(
            store,
            conn,
            {
                "client_id": row.client_id,
                "key": fact.key,
                "kind": fact.kind.value,
                "sku": fact.sku,
                "location": fact.location,
                "quantity": fact.quantity,
                "reference": fact.reference,
                "run_id": row.run_id,
                "at": fact.at or now,
                "recorded_at": now,
            },
            now,
        )


def open_units(ordered: dict[str, Any], shipped: dict[str, Any]) -> dict[str, int]:
    """SKU → units ordered and not shipped."""
    return {sku: max(0, int(q) - int(shipped.get(sku, 0))) for sku, q in ordered.items()}


@fact_writer(OrderCommitment)
def write_commitments(store: SqlBase, conn: Connection, rows: Sequence[FactRow], now: datetime) -> None:
    """Commit or release the difference between an order's open units and what it holds."""
    for row in rows:
        fact: OrderCommitment = row.fact
        client_id = row.client_id
        stored = _order_row(conn, client_id, fact.order_id)
        if stored is not None and fact.version <= stored.version:
            continue  # a replay, or an older update arriving late
        shipped: dict[str, Any] = dict(stored.shipped) if stored is not None else {}
        held = open_units(dict(stored.lines) if stored is not None else {}, shipped)
        ordered = {sku: max(0, int(q)) for sku, q in fact.lines.items()}
        wanted = open_units(ordered, shipped)
        lock_skus(store, conn, client_id, set(held) | set(wanted))
        for sku in sorted(set(held) | set(wanted)):
            delta = wanted.get(sku, 0) - held.get(sku, 0)
            if delta == 0:
                continue
            kind = StockMovementKind.COMMIT if delta > 0 else StockMovementKind.RELEASE
            inserted = insert_movement(
                store,
                conn,
                {
                    "client_id": client_id,
                    "key": f"{kind.value}:{fact.order_id}:{sku}:{fact.version}",
                    "kind": kind.value,
                    "sku": sku,
                    "location": None,
                    "quantity": abs(delta),
                    "reference": fact.order_id,
                    "run_id": row.run_id,
                    "at": now,
                    "recorded_at": now,
                },
                now,
            )
            if inserted:
                bump_channel(store, conn, client_id, sku, fact.connection_id, delta, now)
        values = {"connection_id": fact.connection_id, "version": fact.version, "lines": ordered}
        _put_order(store, conn, client_id, fact.order_id, values, now)


def _movements_after(conn: Connection, client_id: str, sku: str, location: str, after: datetime) -> int:
    """Ship/restock units recorded after ``after`` at a location (what a figure of that time lacks)."""
    signed = case(
        (stock_movements.c.kind == StockMovementKind.SHIP.value, -stock_movements.c.quantity),
        else_=stock_movements.c.quantity,
    )
    where_location = (
        stock_movements.c.location.is_(None) if location == DEFAULT_LOCATION else stock_movements.c.location == location
    )
    total = conn.execute(
        select(func.coalesce(func.sum(signed), 0)).where(
            stock_movements.c.client_id == client_id,
            stock_movements.c.sku == sku,
            where_location,
            stock_movements.c.kind.in_([StockMovementKind.SHIP.value, StockMovementKind.RESTOCK.value]),
            stock_movements.c.at > after,
        )
    ).scalar()
    return int(total or 0)


@fact_writer(OnHandSnapshot)
def write_snapshots(store: SqlBase, conn: Connection, rows: Sequence[FactRow], now: datetime) -> None:
    """Take a newer on-hand figure; movements after its time keep counting on top of it."""
    for client_id in sorted({r.client_id for r in rows}):
        lock_skus(store, conn, client_id, (r.fact.sku for r in rows if r.client_id == client_id))
    for row in rows:
        fact: OnHandSnapshot = row.fact
        location = fact.location or DEFAULT_LOCATION
        current = position_row(conn, row.client_id, fact.sku, location)
        if current is not None and current.on_hand_as_of is not None and fact.as_of <= current.on_hand_as_of:
            continue  # an older or repeated figure
        values = {
            "on_hand": max(0, fact.on_hand),
            "on_hand_as_of": fact.as_of,
            "adjust": _movements_after(conn, row.client_id, fact.sku, location, fact.as_of),
            "updated_at": now,
        }
        stmt = store.dialect_insert(stock_positions)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[stock_positions.c.client_id, stock_positions.c.sku, stock_positions.c.location],
                set_=values,
            ),
            {"client_id": row.client_id, "sku": fact.sku, "location": location, "committed": 0, **values},
        )
        mark_dirty(store, conn, row.client_id, [fact.sku], now)
