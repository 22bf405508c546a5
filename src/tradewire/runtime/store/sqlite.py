"""SQLite backend: the embedded default for one host (WAL, synchronous=FULL, one writer)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Update, create_engine, event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.pool import StaticPool

from tradewire.runtime.store import queries
from tradewire.runtime.store.sql_store import SqlStore
from tradewire.runtime.store.tables import runs


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def sqlite_engine(url: str, *, busy_timeout_ms: int = 30_000, memory: bool = False) -> Engine:
    """An engine with Tradewire's pragmas and explicit ``BEGIN [IMMEDIATE]`` transactions."""
    kwargs: dict[str, Any] = {
        "connect_args": {"check_same_thread": False, "timeout": busy_timeout_ms / 1000.0},
        "json_serializer": _json_dumps,
        "json_deserializer": orjson.loads,
    }
    if memory:
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("tw_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


class SqliteStore(SqlStore):
    """The store on one SQLite file (or in memory)."""

    dialect = "sqlite"
    dialect_insert = staticmethod(sqlite_insert)

    def __init__(self, url: str, *, busy_timeout_ms: int = 30_000, memory: bool = False) -> None:
        super().__init__(sqlite_engine(url, busy_timeout_ms=busy_timeout_ms, memory=memory), serialize_writes=True)

    def claim_statement(self, limit: int, worker_id: str, lease_until: datetime, now: datetime) -> Update:
        """``UPDATE … WHERE id IN (due heads) RETURNING``, inside ``BEGIN IMMEDIATE``."""
        due = queries.claimable_ids(limit, now).scalar_subquery()
        return queries.mark_claimed(runs.c.id.in_(due), worker_id, lease_until, now)
