"""Store methods and fact writers for exceptions and stock movements.

Exceptions are upserted by ``(client_id, key)``: an open one counts another occurrence, a
resolved one opens again. Stock movements are append-only and ignored when their key repeats.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Update, select, update
from sqlalchemy.sql.elements import ColumnElement

from tradewire.errors import Conflict, NotFound
from tradewire.runtime.store.facts import FactRow, fact_writer, write_facts
from tradewire.runtime.store.port_facts import (
    ExceptionFilter,
    ExceptionRecord,
    ExceptionsResolved,
    ExceptionState,
    ObjectSnapshot,
    OpenException,
    StockMovement,
    StoredObject,
)
from tradewire.runtime.store.sql_base import SqlBase
from tradewire.runtime.store.sql_inventory_facts import write_movements
from tradewire.runtime.store.tables import exceptions, objects
from tradewire.tenancy.context import require_client


@fact_writer(OpenException)
def write_exceptions(store: SqlBase, conn: Connection, rows: Sequence[FactRow], now: datetime) -> None:
    """Open (or count again) each exception."""
    stmt = store.dialect_insert(exceptions)
    upsert = stmt.on_conflict_do_update(
        index_elements=[exceptions.c.client_id, exceptions.c.key],
        set_={
            "state": ExceptionState.OPEN.value,
            "message": stmt.excluded.message,
            "detail": stmt.excluded.detail,
            "run_id": stmt.excluded.run_id,
            "updated_at": stmt.excluded.updated_at,
            "occurrences": exceptions.c.occurrences + 1,
            "resolved_at": None,
            "resolved_by": None,
            "resolution": None,
        },
    )
    for row in rows:  # one by one: two facts with one key in a batch must count twice
        fact: OpenException = row.fact
        conn.execute(
            upsert,
            {
                "client_id": row.client_id,
                "key": fact.key,
                "kind": fact.kind,
                "object_type": fact.object_type,
                "canonical_id": fact.canonical_id,
                "state": ExceptionState.OPEN.value,
                "message": fact.message,
                "detail": fact.detail,
                "occurrences": 1,
                "run_id": row.run_id,
                "opened_at": now,
                "updated_at": now,
            },
        )


def resolve_open(client_id: str, condition: ColumnElement[bool], actor: str, resolution: str, now: datetime) -> Update:
    """Resolve this client's open exceptions that meet ``condition``."""
    return (
        update(exceptions)
        .where(exceptions.c.client_id == client_id, condition, exceptions.c.state == ExceptionState.OPEN.value)
        .values(
            state=ExceptionState.RESOLVED.value,
            resolved_at=now,
            resolved_by=actor,
            resolution=resolution,
            updated_at=now,
        )
    )


@fact_writer(ExceptionsResolved)
def write_resolutions(store: SqlBase, conn: Connection, rows: Sequence[FactRow], now: datetime) -> None:
    """Resolve the open exceptions each fact names (keys never opened, or already resolved: no-op)."""
    for row in rows:
        fact: ExceptionsResolved = row.fact
        if fact.keys:
            keys = exceptions.c.key.in_(list(fact.keys))
            conn.execute(resolve_open(row.client_id, keys, fact.resolved_by, fact.resolution, now))


@fact_writer(StockMovement)
def write_stock_movements(store: SqlBase, conn: Connection, rows: Sequence[FactRow], now: datetime) -> None:
    """Append each movement once (a repeated key is ignored) and keep the ledger's positions current."""
    write_movements(store, conn, rows, now)


@fact_writer(ObjectSnapshot)
def write_snapshots(store: SqlBase, conn: Connection, rows: Sequence[FactRow], now: datetime) -> None:
    """Keep each object's newest snapshot (an older version never replaces a newer one)."""
    stmt = store.dialect_insert(objects)
    upsert = stmt.on_conflict_do_update(
        index_elements=[objects.c.client_id, objects.c.object_type, objects.c.canonical_id],
        set_={
            "label": stmt.excluded.label,
            "version": stmt.excluded.version,
            "body": stmt.excluded.body,
            "run_id": stmt.excluded.run_id,
            "updated_at": stmt.excluded.updated_at,
        },
        where=stmt.excluded.version >= objects.c.version,
    )
    for row in rows:  # in order: a batch may carry two versions of one object
        fact: ObjectSnapshot = row.fact
        conn.execute(
            upsert,
            {
                "client_id": row.client_id,
                "object_type": fact.object_type,
                "canonical_id": fact.canonical_id,
                "label": fact.label,
                "version": fact.version,
                "body": fact.body,
                "run_id": row.run_id,
                "updated_at": now,
            },
        )


def to_object(row: Row[Any]) -> StoredObject:
    """A stored snapshot row as a record."""
    m = row._mapping
    return StoredObject(m["object_type"], m["canonical_id"], m["label"], m["version"], dict(m["body"]), m["updated_at"])


def to_exception(row: Row[Any]) -> ExceptionRecord:
    """A stored exception row as a record."""
    m = row._mapping
    return ExceptionRecord(
        id=m["id"],
        client_id=m["client_id"],
        key=m["key"],
        kind=m["kind"],
        object_type=m["object_type"],
        canonical_id=m["canonical_id"],
        state=ExceptionState(m["state"]),
        message=m["message"],
        detail=dict(m["detail"]),
        occurrences=m["occurrences"],
        run_id=m["run_id"],
        opened_at=m["opened_at"],
        updated_at=m["updated_at"],
        resolved_at=m["resolved_at"],
        resolved_by=m["resolved_by"],
        resolution=m["resolution"],
    )


class FactMethods(SqlBase):
    """Facts recorded outside runs, and the operators' exception queries (client-scoped)."""

    def record_facts(self, facts: Sequence[Any], now: datetime) -> None:
        """Write facts that no run recorded (a reconciliation, an operator), for this client."""
        client_id = require_client()
        with self.write() as conn:
            write_facts(self, conn, [FactRow(client_id, None, f) for f in facts], now)

    def get_object(self, object_type: str, canonical_id: str) -> StoredObject | None:
        """This client's newest snapshot of an object, or None."""
        client_id = require_client()
        with self.read() as conn:
            row = conn.execute(
                select(objects).where(
                    objects.c.client_id == client_id,
                    objects.c.object_type == object_type,
                    objects.c.canonical_id == canonical_id,
                )
            ).first()
        return to_object(row) if row is not None else None

    def find_objects(self, object_type: str, label: str, limit: int = 20) -> list[StoredObject]:
        """This client's objects called ``label`` (an order number may repeat across channels)."""
        client_id = require_client()
        with self.read() as conn:
            rows = conn.execute(
                select(objects)
                .where(objects.c.client_id == client_id, objects.c.object_type == object_type, objects.c.label == label)
                .order_by(objects.c.updated_at.desc())
                .limit(limit)
            )
            return [to_object(r) for r in rows]

    def list_exceptions(self, exception_filter: ExceptionFilter) -> list[ExceptionRecord]:
        """Exceptions of this client, newest first."""
        client_id = require_client()
        f = exception_filter
        query = select(exceptions).where(exceptions.c.client_id == client_id)
        if f.state is not None:
            query = query.where(exceptions.c.state == f.state.value)
        if f.kind is not None:
            query = query.where(exceptions.c.kind == f.kind)
        if f.object_type is not None:
            query = query.where(exceptions.c.object_type == f.object_type)
        if f.canonical_id is not None:
            query = query.where(exceptions.c.canonical_id == f.canonical_id)
        if f.before_id is not None:
            query = query.where(exceptions.c.id < f.before_id)
        with self.read() as conn:
            rows = conn.execute(query.order_by(exceptions.c.id.desc()).limit(f.limit))
            return [to_exception(r) for r in rows]

    def get_exception(self, exception_id: int) -> ExceptionRecord:
        """One exception of this client.

        Raises:
            NotFound: no such exception for this client.
        """
        client_id = require_client()
        with self.read() as conn:
            row = conn.execute(
                select(exceptions).where(exceptions.c.client_id == client_id, exceptions.c.id == exception_id)
            ).first()
        if row is None:
            raise NotFound(f"exception {exception_id} does not exist")
        return to_exception(row)

    def resolve_exception(self, exception_id: int, actor: str, resolution: str, now: datetime) -> ExceptionRecord:
        """Mark an open exception resolved by ``actor``.

        Raises:
            NotFound: no such exception for this client.
            Conflict: it is already resolved.
        """
        client_id = require_client()
        with self.write() as conn:
            done = conn.execute(
                resolve_open(client_id, exceptions.c.id == exception_id, actor, resolution, now)
            ).rowcount
        record = self.get_exception(exception_id)
        if done == 0:
            raise Conflict(f"exception {exception_id} is already resolved")
        return record

    def resolve_exceptions_by_key(self, keys: Sequence[str], actor: str, resolution: str, now: datetime) -> int:
        """Resolve this client's open exceptions with these keys (a healed problem); returns how many."""
        client_id = require_client()
        if not keys:
            return 0
        with self.write() as conn:
            keys_match = exceptions.c.key.in_(list(keys))
            return int(conn.execute(resolve_open(client_id, keys_match, actor, resolution, now)).rowcount)
