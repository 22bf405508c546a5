"""Store methods and fact writers of the returns engine (RMAs, healed exceptions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select

from tradewire.runtime.store.facts import FactRow, fact_writer
from tradewire.runtime.store.port_returns import RmaFilter, RmaSnapshot, StoredRma
from tradewire.runtime.store.sql_base import SqlBase
from tradewire.runtime.store.tables import rmas
from tradewire.tenancy.context import require_client

MAX_LIST = 1000


@fact_writer(RmaSnapshot)
def write_rmas(store: SqlBase, conn: Connection, rows: Sequence[FactRow], now: datetime) -> None:
    """Keep each RMA's highest version (a lower or equal one never replaces it)."""
    stmt = store.dialect_insert(rmas)
    upsert = stmt.on_conflict_do_update(
        index_elements=[rmas.c.client_id, rmas.c.id],
        set_={
            "order_id": stmt.excluded.order_id,
            "state": stmt.excluded.state,
            "version": stmt.excluded.version,
            "body": stmt.excluded.body,
            "run_id": stmt.excluded.run_id,
            "updated_at": stmt.excluded.updated_at,
        },
        where=stmt.excluded.version > rmas.c.version,
    )
    for row in rows:  # in order: one run may write several versions of one RMA
        fact: RmaSnapshot = row.fact
        conn.execute(
            upsert,
            {
                "client_id": row.client_id,
                "id": fact.rma_id,
                "order_id": fact.order_id,
                "state": fact.state,
                "version": fact.version,
                "body": fact.body,
                "run_id": row.run_id,
                "updated_at": now,
            },
        )


def to_rma(row: Row[Any]) -> StoredRma:
    """A stored RMA row as a record."""
    m = row._mapping
    return StoredRma(m["id"], m["order_id"], m["state"], m["version"], dict(m["body"]), m["updated_at"])


class ReturnMethods(SqlBase):
    """Reading RMAs (client-scoped); they are written as facts."""

    def get_rma(self, rma_id: str) -> StoredRma | None:
        """This client's RMA ``rma_id``, or None."""
        client_id = require_client()
        with self.read() as conn:
            row = conn.execute(select(rmas).where(rmas.c.client_id == client_id, rmas.c.id == rma_id)).first()
        return to_rma(row) if row is not None else None

    def list_rmas(self, rma_filter: RmaFilter) -> list[StoredRma]:
        """This client's RMAs, most recently changed first."""
        client_id = require_client()
        query = select(rmas).where(rmas.c.client_id == client_id)
        if rma_filter.state is not None:
            query = query.where(rmas.c.state == rma_filter.state)
        if rma_filter.order_id is not None:
            query = query.where(rmas.c.order_id == rma_filter.order_id)
        limit = max(1, min(rma_filter.limit, MAX_LIST))
        with self.read() as conn:
            rows = conn.execute(query.order_by(rmas.c.updated_at.desc(), rmas.c.id).limit(limit))
            return [to_rma(r) for r in rows]
