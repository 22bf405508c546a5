"""Store methods and fact writers of operations: order holds, healed exceptions, snapshot scans."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from tradewire.errors import Conflict, NotFound
from tradewire.runtime.store.facts import FactRow, fact_writer
from tradewire.runtime.store.port import RunState
from tradewire.runtime.store.port_facts import StoredObject
from tradewire.runtime.store.port_operations import (
    HoldPlaced,
    HoldRecord,
    HoldReleased,
    HoldState,
)
from tradewire.runtime.store.sql_base import SqlBase
from tradewire.runtime.store.sql_facts import to_object
from tradewire.runtime.store.tables import objects, order_holds, runs
from tradewire.tenancy.context import require_client


@fact_writer(HoldPlaced)
def write_holds(store: SqlBase, conn: Connection, rows: Sequence[FactRow], now: datetime) -> None:
    """Hold each order once; a held one gets the newest reasons and run, a released one stays released."""
    for row in rows:
        fact: HoldPlaced = row.fact
        stmt = store.dialect_insert(order_holds)
        refresh: dict[str, Any] = {
            "reasons": stmt.excluded.reasons,
            "run_id": stmt.excluded.run_id,
            "release_at": stmt.excluded.release_at,
            "updated_at": stmt.excluded.updated_at,
        }
        if fact.manual:  # an operator's hold re-holds a released order (and keeps the parked run)
            refresh.pop("run_id")
            refresh |= {
                "state": HoldState.HELD.value,
                "held_by": stmt.excluded.held_by,
                "held_at": stmt.excluded.held_at,
                "released_at": None,
                "released_by": None,
                "release_reason": None,
            }
            upsert = stmt.on_conflict_do_update(
                index_elements=[order_holds.c.client_id, order_holds.c.order_id], set_=refresh
            )
        else:
            upsert = stmt.on_conflict_do_update(
                index_elements=[order_holds.c.client_id, order_holds.c.order_id],
                set_=refresh,
                where=order_holds.c.state == HoldState.HELD.value,
            )
        conn.execute(
            upsert,
            {
                "client_id": row.client_id,
                "order_id": fact.order_id,
                "order_number": fact.order_number,
                "connection_id": fact.connection_id,
                "state": HoldState.HELD.value,
                "reasons": list(fact.reasons),
                "run_id": row.run_id,
                "held_by": fact.held_by,
                "held_at": now,
                "release_at": fact.release_at,
                "updated_at": now,
            },
        )


@fact_writer(HoldReleased)
def write_releases(store: SqlBase, conn: Connection, rows: Sequence[FactRow], now: datetime) -> None:
    """Release each held order (a released one is left as it was)."""
    for row in rows:
        fact: HoldReleased = row.fact
        conn.execute(_release(row.client_id, fact.order_id, fact.released_by, fact.reason, now))


def _release(client_id: str, order_id: str, actor: str, reason: str, now: datetime) -> Any:
    return (
        update(order_holds)
        .where(
            order_holds.c.client_id == client_id,
            order_holds.c.order_id == order_id,
            order_holds.c.state == HoldState.HELD.value,
        )
        .values(
            state=HoldState.RELEASED.value, released_at=now, released_by=actor, release_reason=reason, updated_at=now
        )
    )


def to_hold(row: Row[Any]) -> HoldRecord:
    """A stored hold row as a record."""
    m = row._mapping
    return HoldRecord(
        order_id=m["order_id"],
        order_number=m["order_number"],
        connection_id=m["connection_id"],
        state=HoldState(m["state"]),
        reasons=list(m["reasons"]),
        run_id=m["run_id"],
        held_by=m["held_by"],
        held_at=m["held_at"],
        release_at=m["release_at"],
        released_at=m["released_at"],
        released_by=m["released_by"],
        release_reason=m["release_reason"],
    )


class OperationsMethods(SqlBase):
    """Holds and snapshot scans (client-scoped)."""

    def get_hold(self, order_id: str) -> HoldRecord | None:
        """This client's hold of an order, or None when it was never held."""
        client_id = require_client()
        with self.read() as conn:
            row = conn.execute(
                select(order_holds).where(order_holds.c.client_id == client_id, order_holds.c.order_id == order_id)
            ).first()
        return to_hold(row) if row is not None else None

    def list_holds(self, state: HoldState | None, limit: int = 100) -> list[HoldRecord]:
        """This client's holds, newest first."""
        client_id = require_client()
        query = select(order_holds).where(order_holds.c.client_id == client_id)
        if state is not None:
            query = query.where(order_holds.c.state == state.value)
        with self.read() as conn:
            rows = conn.execute(query.order_by(order_holds.c.held_at.desc()).limit(limit))
            return [to_hold(r) for r in rows]

    def release_hold(self, order_id: str, actor: str, reason: str, now: datetime) -> HoldRecord:
        """Release a held order and wake the run parked on it (one transaction).

        Raises:
            NotFound: the order was never held.
            Conflict: it is already released.
        """
        client_id = require_client()
        with self.write() as conn:
            row = conn.execute(
                select(order_holds).where(order_holds.c.client_id == client_id, order_holds.c.order_id == order_id)
            ).first()
            if row is None:
                raise NotFound(f"order {order_id} is not held")
            if conn.execute(_release(client_id, order_id, actor, reason, now)).rowcount != 1:
                raise Conflict(f"order {row._mapping['order_number']} is already released")
            run_id = row._mapping["run_id"]
            if run_id is not None:
                woke = conn.execute(
                    update(runs)
                    .where(runs.c.id == run_id, runs.c.client_id == client_id, runs.c.state == RunState.WAITING.value)
                    .values(next_at=now, updated_at=now)
                ).rowcount
                if woke:
                    self.after_enqueue(conn)
        hold = self.get_hold(order_id)
        assert hold is not None
        return hold

    def list_objects(
        self, object_type: str, changed_before: datetime, after_id: str | None = None, limit: int = 500
    ) -> list[StoredObject]:
        """This client's snapshots of a type last changed before a time, by canonical id (pages with ``after_id``)."""
        client_id = require_client()
        query = select(objects).where(
            objects.c.client_id == client_id,
            objects.c.object_type == object_type,
            objects.c.updated_at < changed_before,
        )
        if after_id is not None:
            query = query.where(objects.c.canonical_id > after_id)
        with self.read() as conn:
            rows = conn.execute(query.order_by(objects.c.canonical_id).limit(limit))
            return [to_object(r) for r in rows]
