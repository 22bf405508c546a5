"""What the SQL backends share: transactions, row conversion, and the dialect hooks.

``SqlStore`` (in ``sql_store.py``) builds every port method on these pieces; ``sqlite.py``
and ``postgres.py`` supply the engine and the few statements that differ.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, Update
from sqlalchemy.sql.elements import ColumnElement

from tradewire.runtime.store import queries
from tradewire.runtime.store.port import RunRecord, RunState, StepRecord


class SqlBase:
    """Engine, transactions and the dialect hooks."""

    dialect: str = "sql"
    dialect_insert: queries.DialectInsert

    def __init__(self, engine: Engine, *, serialize_writes: bool = False) -> None:
        self.engine = engine
        # SQLite has one writer: serialising writers inside a process avoids its busy-wait sleeps.
        self._write_lock: threading.Lock | None = threading.Lock() if serialize_writes else None
        self.statements = 0

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A read-write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
        if self._write_lock is not None:
            with self._write_lock, self.engine.connect().execution_options(tw_write=True) as conn, conn.begin():
                yield conn
        else:
            with self.engine.connect().execution_options(tw_write=True) as conn, conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    # --- dialect hooks ---------------------------------------------------------------------

    def claim_statement(self, limit: int, worker_id: str, lease_until: datetime, now: datetime) -> Update:
        """The statement that claims due runs and returns them."""
        raise NotImplementedError

    def insert_ignore(self, conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> int:
        """Insert rows, skipping those that collide with a unique key; returns rows inserted."""
        if not rows:
            return 0
        return len(conn.execute(queries.insert_ignore(self.dialect_insert, table), list(rows)).fetchall())

    def upsert_steps(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or replace step checkpoints."""
        conn.execute(queries.upsert_steps(self.dialect_insert), list(rows))

    def upsert_cursor(self, conn: Connection, row: dict[str, Any]) -> None:
        """Insert or replace a polling cursor."""
        conn.execute(queries.upsert_cursor(self.dialect_insert, row))

    def lock_row_for_update(self, conn: Connection, run_id: int) -> None:
        """Lock one run row until the transaction ends (no-op where the writer is exclusive)."""

    def lock_name(self, conn: Connection, name: str) -> None:
        """Serialise writers on a name until the transaction ends (no-op on SQLite)."""

    def after_enqueue(self, conn: Connection) -> None:
        """Tell sleeping workers that runs were queued (NOTIFY on PostgreSQL)."""

    def subscribe_wakeups(self, callback: Callable[[], None]) -> Callable[[], None] | None:
        """Call ``callback`` whenever runs are queued; returns a stop function, or None to poll."""
        return None


def ids_in(column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    """``column IN ids`` as a typed expression."""
    result: ColumnElement[bool] = column.in_(list(ids))
    return result


def to_step(row: Row[Any]) -> StepRecord:
    """A steps row as a record."""
    m = row._mapping
    return StepRecord(
        name=m["name"],
        attempt=m["attempt"],
        output=m["output"],
        started_at=m["started_at"],
        ended_at=m["ended_at"],
        error=m["error"],
        calls=tuple(m["calls"] or ()),
    )


def to_run(row: Row[Any], steps: Sequence[StepRecord] = ()) -> RunRecord:
    """A runs row as a record."""
    m = row._mapping
    return RunRecord(
        id=m["id"],
        client_id=m["client_id"],
        connection_id=m["connection_id"],
        flow=m["flow"],
        flow_version=m["flow_version"],
        state=RunState(m["state"]),
        message_id=m["message_id"],
        ordering_key=m["ordering_key"],
        ordering_seq=m["ordering_seq"],
        attempt=m["attempt"],
        failures=m["failures"],
        next_at=m["next_at"],
        lease_owner=m["lease_owner"],
        lease_until=m["lease_until"],
        wait_for=m["wait_for"],
        start_step=m["start_step"],
        last_error=m["last_error"],
        error_type=m["error_type"],
        input=m["input"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        ended_at=m["ended_at"],
        steps=tuple(steps),
        retry_since=m["retry_since"],
        rescues=m["rescues"],
    )
