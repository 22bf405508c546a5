"""PostgreSQL backend: many serve and worker processes on many hosts share one database.

Claims use ``FOR UPDATE SKIP LOCKED``; workers wake on ``LISTEN/NOTIFY``; the scheduler
leader holds a session advisory lock; per-key ordering is guarded by a transaction
advisory lock so two workers never start two runs of one key in the same instant.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
import psycopg
from sqlalchemy import Connection, Engine, Update, create_engine, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import make_url

from tradewire.runtime.store import queries
from tradewire.runtime.store.sql_store import SqlStore
from tradewire.runtime.store.tables import runs

WAKEUP_CHANNEL = "tradewire_runs"


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def normalise_url(url: str) -> str:
    """``postgresql://…`` → ``postgresql+psycopg://…`` (psycopg 3)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The URL as libpq wants it (no SQLAlchemy driver suffix)."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def postgres_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine on psycopg 3 with a bounded pool."""
    return create_engine(
        normalise_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it costs a round trip per checkout. Connections are recycled instead, and a
        # statement on a dead connection fails like any database error (claims and commits retry).
        pool_recycle=1800,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
    )


class PostgresStore(SqlStore):
    """The store on PostgreSQL 14+."""

    dialect = "postgresql"
    dialect_insert = staticmethod(pg_insert)

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        super().__init__(postgres_engine(url, pool_size=pool_size))
        self.url = url
        self._leaders: dict[str, Connection] = {}
        self._leader_lock = threading.Lock()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """Reads run in autocommit: one statement, no BEGIN/COMMIT round trips."""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn

    def claim_statement(self, limit: int, worker_id: str, lease_until: datetime, now: datetime) -> Update:
        """``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``, one key at a time."""
        due = queries.claimable_ids(limit, now)
        key_free = runs.c.ordering_key.is_(None) | func.pg_try_advisory_xact_lock(
            func.hashtextextended(runs.c.ordering_key, 0)
        )
        due = due.where(key_free).with_for_update(skip_locked=True, of=runs)
        return queries.mark_claimed(runs.c.id.in_(due.scalar_subquery()), worker_id, lease_until, now)

    def lock_row_for_update(self, conn: Connection, run_id: int) -> None:
        """``SELECT … FOR UPDATE`` so the run cannot end while we decide to wait for it."""
        conn.execute(select(runs.c.id).where(runs.c.id == run_id).with_for_update())

    def lock_name(self, conn: Connection, name: str) -> None:
        """A transaction advisory lock on ``name``."""
        conn.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(name, 0))))

    def after_enqueue(self, conn: Connection) -> None:
        """``NOTIFY`` sleeping workers (delivered at commit, coalesced per transaction)."""
        conn.execute(select(func.pg_notify(WAKEUP_CHANNEL, "")))

    def subscribe_wakeups(self, callback: Callable[[], None]) -> Callable[[], None] | None:
        """``LISTEN`` on a dedicated connection in a thread; returns a stop function."""
        stop = threading.Event()

        def listen() -> None:
            while not stop.is_set():
                try:
                    with psycopg.connect(libpq_url(self.url), autocommit=True) as pg:
                        pg.execute(f"LISTEN {WAKEUP_CHANNEL}")
                        while not stop.is_set():
                            for _ in pg.notifies(timeout=0.5, stop_after=1):
                                callback()
                except psycopg.Error:
                    stop.wait(1.0)

        thread = threading.Thread(target=listen, name="tradewire-listen", daemon=True)
        thread.start()

        def stop_listening() -> None:
            stop.set()
            thread.join(timeout=5)

        return stop_listening

    def try_lead(self, name: str, owner: str, ttl_seconds: float, now: datetime) -> bool:
        """Hold a session advisory lock on a dedicated connection (released if we die)."""
        with self._leader_lock:
            conn = self._leaders.get(name)
            if conn is not None:
                try:
                    conn.execute(text("SELECT 1"))
                    return True
                except Exception:  # the connection died: the lock went with it
                    self._leaders.pop(name, None)
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = bool(conn.execute(select(func.pg_try_advisory_lock(func.hashtextextended(name, 0)))).scalar())
            if got:
                self._leaders[name] = conn
            else:
                conn.close()
            return got

    def close(self) -> None:
        """Release leader locks and pooled connections."""
        with self._leader_lock:
            for conn in self._leaders.values():
                conn.close()
            self._leaders.clear()
        super().close()
