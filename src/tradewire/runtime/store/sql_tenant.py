"""Store methods for tenants and operators. Tenant queries take the client from the context."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update

from tradewire.errors import Conflict, NotFound
from tradewire.runtime.store import queries
from tradewire.runtime.store.port import (
    Binding,
    ConnectionRecord,
    MessageRecord,
    RunFilter,
    RunRecord,
    TimelineEvent,
)
from tradewire.runtime.store.sql_base import SqlBase, to_run, to_step
from tradewire.runtime.store.tables import clients, connections, partners
from tradewire.tenancy.context import current_client, require_client


class TenantMethods(SqlBase):
    """Partners, clients, connections, and the client-scoped operator queries."""

    # --- tenancy (system scope) -------------------------------------------------------------

    def create_partner(self, name: str, *, partner_id: str | None = None) -> str:
        """Create a partner; returns its id."""
        pid = partner_id or str(uuid.uuid4())
        with self.write() as conn:
            conn.execute(insert(partners).values(id=pid, name=name, created_at=datetime.now(UTC)))
        return pid

    def create_client(self, partner_id: str, name: str, *, client_id: str | None = None) -> str:
        """Create a client of a partner; returns its id."""
        cid = client_id or str(uuid.uuid4())
        with self.write() as conn:
            conn.execute(insert(clients).values(id=cid, partner_id=partner_id, name=name, created_at=datetime.now(UTC)))
        return cid

    def create_connection(
        self,
        client_id: str,
        system: str,
        name: str,
        settings: dict[str, Any],
        secrets: bytes,
        *,
        connection_id: str | None = None,
    ) -> str:
        """Create a connection of a client; returns its id."""
        cid = connection_id or str(uuid.uuid4())
        now = datetime.now(UTC)
        with self.write() as conn:
            conn.execute(
                insert(connections).values(
                    id=cid,
                    client_id=client_id,
                    system=system,
                    name=name,
                    settings=settings,
                    secrets=secrets,
                    status="active",
                    created_at=now,
                    updated_at=now,
                )
            )
        return cid

    def get_connection(self, connection_id: str) -> ConnectionRecord:
        """One connection by id (this is how an inbound webhook learns its client).

        Raises:
            NotFound: no such connection, or it belongs to another client than the context's.
        """
        with self.read() as conn:
            row = conn.execute(queries.connection_by_id(connection_id)).first()
        scoped = current_client()
        if row is None or (scoped is not None and row._mapping["client_id"] != scoped):
            raise NotFound(f"connection {connection_id!r} does not exist")
        return _connection_record(row)

    def connections_of(self, systems: Sequence[str]) -> list[ConnectionRecord]:
        """Every connection to one of ``systems``, for all clients (system scope: the poll scheduler)."""
        if not systems:
            return []
        with self.read() as conn:
            rows = conn.execute(queries.connections_of_systems(systems)).fetchall()
        return [_connection_record(row) for row in rows]

    def put_tenant(self, partner: tuple[str, str], client: tuple[str, str]) -> None:
        """Create or rename a partner and one of its clients (config-as-code).

        Raises:
            Conflict: the client exists under another partner.
        """
        now = datetime.now(UTC)
        with self.write() as conn:
            conn.execute(
                queries.upsert_named(
                    self.dialect_insert,
                    partners,
                    {"id": partner[0], "name": partner[1], "created_at": now},
                    ["created_at"],
                )
            )
            owner = conn.execute(queries.client_partner(client[0])).scalar()
            if owner is not None and owner != partner[0]:
                raise Conflict(f"client {client[0]!r} belongs to partner {owner!r}, not {partner[0]!r}")
            row = {"id": client[0], "partner_id": partner[0], "name": client[1], "created_at": now}
            conn.execute(queries.upsert_named(self.dialect_insert, clients, row, ["created_at", "partner_id"]))

    def put_connection(
        self, connection_id: str, client_id: str, system: str, name: str, settings: dict[str, Any], secrets: bytes
    ) -> bool:
        """Create a connection, or update its name, settings and secrets; returns True when created.

        Raises:
            Conflict: the id is taken by another client's connection or by another system.
        """
        now = datetime.now(UTC)
        with self.write() as conn:
            existing = conn.execute(queries.connection_by_id(connection_id)).first()
            if existing is not None:
                m = existing._mapping
                if m["client_id"] != client_id or m["system"] != system:
                    raise Conflict(
                        f"connection {connection_id!r} already exists as a {m['system']} connection of client "
                        f"{m['client_id']!r}; ids cannot move between clients or systems"
                    )
            row = {
                "id": connection_id, "client_id": client_id, "system": system, "name": name, "settings": settings,
                "secrets": secrets, "status": "active", "created_at": now, "updated_at": now,
            }  # fmt: skip
            keep = ["created_at", "client_id", "system", "status", "paused_reason"]
            conn.execute(queries.upsert_named(self.dialect_insert, connections, row, keep))
        return existing is None

    def connection_secrets(self) -> list[tuple[str, str, bytes]]:
        """(connection id, client id, sealed credentials) of every connection (system scope: key rotation)."""
        with self.read() as conn:
            rows = conn.execute(select(connections.c.id, connections.c.client_id, connections.c.secrets))
            return [(r.id, r.client_id, bytes(r.secrets)) for r in rows]

    def swap_connection_secrets(self, connection_id: str, expected: bytes, sealed: bytes) -> bool:
        """Replace a connection's sealed credentials if they are still ``expected`` (compare and swap)."""
        with self.write() as conn:
            done = conn.execute(
                update(connections)
                .where(connections.c.id == connection_id, connections.c.secrets == expected)
                .values(secrets=sealed)
            ).rowcount
        return bool(done == 1)

    def list_clients(self) -> list[tuple[str, str]]:
        """Every client as (id, name)."""
        with self.read() as conn:
            return [(r[0], r[1]) for r in conn.execute(queries.all_clients())]

    def set_connection_status(self, connection_id: str, status: str, reason: str | None) -> None:
        """Pause (status "paused") or resume ("active") a connection."""
        with self.write() as conn:
            conn.execute(queries.set_connection_status(connection_id, status, reason, datetime.now(UTC)))

    # --- tenant queries ----------------------------------------------------------------------

    def get_binding(self, connection_id: str, object_type: str, external_id: str) -> Binding | None:
        """The binding of an external id, if any."""
        client_id = require_client()
        with self.read() as conn:
            canonical = conn.execute(queries.binding(client_id, connection_id, object_type, external_id)).scalar()
        if canonical is None:
            return None
        return Binding(connection_id, object_type, external_id, canonical)

    def find_bindings(self, connection_id: str, object_type: str, canonical_ids: Sequence[str]) -> dict[str, str]:
        """External ids of canonical ids in one connection (missing ones are left out)."""
        client_id = require_client()
        if not canonical_ids:
            return {}
        with self.read() as conn:
            rows = conn.execute(
                queries.bindings_by_canonical(client_id, connection_id, object_type, list(canonical_ids))
            )
            return dict(rows.all())

    def find_bindings_many(self, connection_id: str, wanted: Mapping[str, Sequence[str]]) -> dict[str, dict[str, str]]:
        """Bindings of several object types in one query: ``{object type: {canonical: external}}``."""
        client_id = require_client()
        found: dict[str, dict[str, str]] = {kind: {} for kind in wanted}
        ids = sorted({cid for cids in wanted.values() for cid in cids})
        if not ids:
            return found
        with self.read() as conn:
            for kind, canonical, external in conn.execute(
                queries.bindings_of_kinds(client_id, connection_id, list(wanted), ids)
            ):
                if canonical in wanted[kind]:
                    found[kind][canonical] = external
        return found

    def timeline(self, object_type: str, canonical_id: str) -> list[TimelineEvent]:
        """Business events of one object, oldest first."""
        client_id = require_client()
        with self.read() as conn:
            rows = conn.execute(queries.timeline_of(client_id, object_type, canonical_id)).fetchall()
        return [
            TimelineEvent(
                object_type=m["object_type"],
                canonical_id=m["canonical_id"],
                event=m["event"],
                system=m["system"],
                connection_id=m["connection_id"],
                external_id=m["external_id"],
                detail=dict(m["detail"]),
                run_id=m["run_id"],
                at=m["at"],
            )
            for m in (r._mapping for r in rows)
        ]

    def get_run(self, run_id: int) -> RunRecord:
        """One run with its steps.

        Raises:
            NotFound: no such run for this client.
        """
        client_id = require_client()
        with self.read() as conn:
            row = conn.execute(queries.run_by_id(client_id, run_id)).first()
            if row is None:
                raise NotFound(f"run {run_id} does not exist")
            steps = [to_step(s) for s in conn.execute(queries.steps_of([run_id]))]
        return to_run(row, steps)

    def list_runs(self, run_filter: RunFilter) -> list[RunRecord]:
        """Runs of this client, newest first."""
        client_id = require_client()
        with self.read() as conn:
            return [to_run(r) for r in conn.execute(queries.list_runs(client_id, run_filter))]

    def get_message(self, message_id: int) -> MessageRecord:
        """One stored message.

        Raises:
            NotFound: no such message for this client.
        """
        client_id = require_client()
        with self.read() as conn:
            row = conn.execute(queries.message_by_id(client_id, message_id)).first()
        if row is None:
            raise NotFound(f"message {message_id} does not exist")
        m = row._mapping
        return MessageRecord(
            id=m["id"],
            client_id=m["client_id"],
            connection_id=m["connection_id"],
            source=m["source"],
            topic=m["topic"],
            idempotency_key=m["idempotency_key"],
            headers=dict(m["headers"]),
            body=bytes(m["body"]),
            received_at=m["received_at"],
        )

    def replay(self, run_ids: Sequence[int], from_step: str | None, now: datetime) -> list[int]:
        """Queue ended runs again, from the start or from a named step; returns the runs queued.

        Raises:
            NotFound: a run does not exist for this client.
            Conflict: a run is still active, or never reached ``from_step``.
        """
        client_id = require_client()
        queued: list[int] = []
        with self.write() as conn:
            for run_id in run_ids:
                if conn.execute(queries.run_by_id(client_id, run_id)).first() is None:
                    raise NotFound(f"run {run_id} does not exist")
                started: datetime | None = None
                if from_step is not None:
                    started = conn.execute(queries.step_started(run_id, from_step)).scalar()
                    if started is None:
                        raise Conflict(f"run {run_id} never reached step {from_step!r}; replay it from the start")
                if conn.execute(queries.replay_run(client_id, run_id, from_step, now)).rowcount != 1:
                    raise Conflict(f"run {run_id} is still active; only succeeded or dead runs can be replayed")
                conn.execute(queries.delete_steps_from(run_id, started))
                queued.append(run_id)
            if queued:
                self.after_enqueue(conn)
        return queued

    def dead_run_ids(self, since: datetime | None, flow: str | None) -> list[int]:
        """Dead runs of this client, oldest first."""
        client_id = require_client()
        with self.read() as conn:
            return [r[0] for r in conn.execute(queries.dead_run_ids(client_id, since, flow))]

    def count_by_state(self) -> dict[str, int]:
        """Runs of this client per state."""
        client_id = require_client()
        with self.read() as conn:
            return dict(conn.execute(queries.count_by_state(client_id)).all())

    def count_all_by_state(self) -> dict[str, int]:
        """Runs of every client per state (for /metrics)."""
        with self.read() as conn:
            return dict(conn.execute(queries.count_by_state(None)).all())

    def get_cursor(self, connection_id: str, name: str) -> str | None:
        """A polling cursor of one connection."""
        client_id = require_client()
        with self.read() as conn:
            value: str | None = conn.execute(queries.cursor_value(client_id, connection_id, name)).scalar()
            return value

    def set_cursor(self, connection_id: str, name: str, value: str, now: datetime) -> None:
        """Store a polling cursor (only after the records it covers are stored)."""
        client_id = require_client()
        with self.write() as conn:
            self.upsert_cursor(
                conn,
                {
                    "connection_id": connection_id,
                    "name": name,
                    "client_id": client_id,
                    "value": value,
                    "updated_at": now,
                },
            )


def _connection_record(row: Any) -> ConnectionRecord:
    m = row._mapping
    return ConnectionRecord(
        id=m["id"],
        client_id=m["client_id"],
        system=m["system"],
        name=m["name"],
        settings=dict(m["settings"]),
        secrets=bytes(m["secrets"]),
        status=m["status"],
        paused_reason=m["paused_reason"],
    )
