"""Ledger rows the inventory writers keep: positions, per-channel open units, dirty marks, SKU locks.

Used by :mod:`tradewire.runtime.store.sql_inventory_facts` inside the transaction that records a fact.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, select

from tradewire.runtime.store.sql_base import SqlBase
from tradewire.runtime.store.tables import inventory_dirty, stock_channel_positions, stock_positions


def lock_skus(store: SqlBase, conn: Connection, client_id: str, skus: Iterable[str]) -> None:
    """Serialise ledger writers of these SKUs until the transaction ends."""
    for sku in sorted(set(skus)):
        store.lock_name(conn, f"inventory:{client_id}:{sku}")


def mark_dirty(store: SqlBase, conn: Connection, client_id: str, skus: Iterable[str], now: datetime) -> None:
    """Flag SKUs for the publisher; the first change since the last publication keeps its time."""
    stmt = store.dialect_insert(inventory_dirty)
    upsert = stmt.on_conflict_do_update(
        index_elements=[inventory_dirty.c.client_id, inventory_dirty.c.sku],
        set_={"seq": inventory_dirty.c.seq + 1},
    )
    rows = [{"client_id": client_id, "sku": sku, "seq": 1, "changed_at": now} for sku in sorted(set(skus))]
    if rows:
        conn.execute(upsert, rows)


def bump_position(
    store: SqlBase,
    conn: Connection,
    client_id: str,
    sku: str,
    location: str,
    now: datetime,
    *,
    committed: int = 0,
    adjust: int = 0,
) -> None:
    """Add to a position's committed units (never below 0) and on-hand adjustment, creating the row."""
    stmt = store.dialect_insert(stock_positions)
    new_committed = stock_positions.c.committed + committed
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[stock_positions.c.client_id, stock_positions.c.sku, stock_positions.c.location],
            set_={
                "committed": case((new_committed < 0, 0), else_=new_committed),
                "adjust": stock_positions.c.adjust + adjust,
                "updated_at": now,
            },
        ),
        {
            "client_id": client_id,
            "sku": sku,
            "location": location,
            "on_hand": 0,
            "adjust": adjust,
            "committed": max(0, committed),
            "updated_at": now,
        },
    )


def bump_channel(
    store: SqlBase,
    conn: Connection,
    client_id: str,
    sku: str,
    connection_id: str | None,
    open_delta: int,
    now: datetime,
) -> None:
    """Add to a channel's open units of a SKU (never below 0); a positive change also counts as sold."""
    if connection_id is None:
        return
    stmt = store.dialect_insert(stock_channel_positions)
    new_open = stock_channel_positions.c.open + open_delta
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[
                stock_channel_positions.c.client_id,
                stock_channel_positions.c.sku,
                stock_channel_positions.c.connection_id,
            ],
            set_={
                "open": case((new_open < 0, 0), else_=new_open),
                "sold": stock_channel_positions.c.sold + max(0, open_delta),
                "updated_at": now,
            },
        ),
        {
            "client_id": client_id,
            "sku": sku,
            "connection_id": connection_id,
            "open": max(0, open_delta),
            "sold": max(0, open_delta),
            "updated_at": now,
        },
    )


def position_row(conn: Connection, client_id: str, sku: str, location: str) -> Any:
    return conn.execute(
        select(stock_positions).where(
            stock_positions.c.client_id == client_id,
            stock_positions.c.sku == sku,
            stock_positions.c.location == location,
        )
    ).first()
