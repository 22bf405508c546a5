"""Fact writers of the fulfilment area: follow-up runs queued with a run's transition."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from tradewire.runtime.store.facts import FactRow, fact_writer
from tradewire.runtime.store.port import RunState
from tradewire.runtime.store.port_fulfilment import FollowUpRun
from tradewire.runtime.store.sql_base import SqlBase
from tradewire.runtime.store.tables import runs


@fact_writer(FollowUpRun)
def write_follow_up_runs(store: SqlBase, conn: Connection, rows: Sequence[FactRow], now: datetime) -> None:
    """Queue each follow-up run once (a repeated ``(client, flow, dedupe_key)`` is ignored)."""
    values = []
    for row in rows:
        fact: FollowUpRun = row.fact
        values.append(
            {
                "client_id": row.client_id,
                "connection_id": fact.connection_id,
                "flow": fact.flow,
                "flow_version": fact.flow_version,
                "dedupe_key": fact.dedupe_key,
                "message_id": None,
                "input": fact.input,
                "state": RunState.QUEUED.value,
                "ordering_key": fact.ordering_key,
                "ordering_seq": 0,
                "priority": 0,
                "next_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
    if store.insert_ignore(conn, runs, values):
        store.after_enqueue(conn)


class FulfilmentMethods:
    """Store methods of the fulfilment area (none yet: it only adds the ``FollowUpRun`` writer)."""
