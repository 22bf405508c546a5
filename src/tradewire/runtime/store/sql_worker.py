"""Store methods of the ingest path and the worker: the hot path, kept to few statements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from tradewire.runtime.store import queries
from tradewire.runtime.store.facts import FactRow, write_facts
from tradewire.runtime.store.port import (
    BudgetGrant,
    ClaimedRun,
    CursorUpdate,
    DependencyOutcome,
    IngestItem,
    IngestResult,
    NewRun,
    RunState,
    StepRecord,
    Transition,
)
from tradewire.runtime.store.sql_base import SqlBase, to_run, to_step
from tradewire.runtime.store.tables import bindings as bindings_table
from tradewire.runtime.store.tables import leader_leases, messages, rate_budgets, runs


def _run_row(
    client_id: str, connection_id: str | None, run: NewRun, message_id: int | None, now: datetime
) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "connection_id": connection_id,
        "flow": run.flow,
        "flow_version": run.flow_version,
        "dedupe_key": run.dedupe_key or f"message:{message_id}",
        "message_id": message_id,
        "input": run.input,
        "state": RunState.QUEUED.value,
        "ordering_key": run.ordering_key,
        "ordering_seq": run.ordering_seq,
        "priority": run.priority,
        "next_at": now,
        "created_at": now,
        "updated_at": now,
    }


def _binding_rows(t: Transition, now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "client_id": t.client_id,
            "connection_id": b.connection_id,
            "object_type": b.object_type,
            "external_id": b.external_id,
            "canonical_id": b.canonical_id,
            "run_id": t.run_id,
            "created_at": now,
        }
        for b in t.bindings
    ]


def _timeline_rows(t: Transition, now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "client_id": t.client_id,
            "object_type": e.object_type,
            "canonical_id": e.canonical_id,
            "event": e.event,
            "system": e.system,
            "connection_id": e.connection_id,
            "external_id": e.external_id,
            "run_id": e.run_id or t.run_id,
            "detail": e.detail,
            "at": e.at or now,
        }
        for e in t.timeline
    ]


def _step_rows(run_id: int, client_id: str, records: Sequence[StepRecord]) -> list[dict[str, Any]]:
    return [
        {
            "run_id": run_id,
            "client_id": client_id,
            "name": s.name,
            "attempt": s.attempt,
            "output": s.output,
            "error": s.error,
            "started_at": s.started_at,
            "ended_at": s.ended_at,
            "calls": list(s.calls) or None,
        }
        for s in records
    ]


class WorkerMethods(SqlBase):
    """Ingest, claim, heartbeat, fenced transitions, dependencies, budgets, leases."""

    def ingest(
        self, items: Sequence[IngestItem], *, cursor: CursorUpdate | None = None, now: datetime | None = None
    ) -> list[IngestResult]:
        """Store messages and their runs in one transaction; duplicates change nothing.

        With ``cursor``, the polling cursor is stored in the same transaction: it never advances
        past records that are not stored (``now`` stamps it).
        """
        results: list[IngestResult] = []
        if not items and cursor is None:
            return results
        with self.write() as conn:
            if cursor is not None:
                self.upsert_cursor(
                    conn,
                    {
                        "connection_id": cursor.connection_id,
                        "name": cursor.name,
                        "client_id": cursor.client_id,
                        "value": cursor.value,
                        "updated_at": now or datetime.now(UTC),
                    },
                )
            enqueued = False
            for item in items:
                row = {
                    "client_id": item.client_id,
                    "connection_id": item.connection_id,
                    "source": item.source,
                    "topic": item.topic,
                    "idempotency_key": item.idempotency_key,
                    "headers": item.headers,
                    "body": item.body,
                    "received_at": item.received_at,
                }
                message_id = conn.execute(queries.insert_ignore(self.dialect_insert, messages), row).scalar()
                if message_id is None:  # a repeat delivery: answer with the stored message
                    existing = conn.execute(
                        queries.message_id_by_key(item.client_id, item.source, item.idempotency_key)
                    ).scalar_one()
                    results.append(IngestResult(message_id=existing, duplicate=True))
                    continue
                run_ids: list[int] = []
                for new_run in item.runs:
                    run_row = _run_row(item.client_id, item.connection_id, new_run, message_id, item.received_at)
                    run_ids.append(conn.execute(queries.insert_run(run_row)).scalar_one())
                enqueued = enqueued or bool(run_ids)
                results.append(IngestResult(message_id=message_id, duplicate=False, run_ids=tuple(run_ids)))
            if enqueued:
                self.after_enqueue(conn)
        return results

    def claim(self, worker_id: str, limit: int, lease_seconds: float, now: datetime) -> list[ClaimedRun]:
        """Claim up to ``limit`` due runs at the head of their ordering keys."""
        lease_until = now + timedelta(seconds=lease_seconds)
        with self.write() as conn:
            rows = conn.execute(self.claim_statement(limit, worker_id, lease_until, now)).fetchall()
            if not rows:
                return []
            message_ids = [r._mapping["message_id"] for r in rows if r._mapping["message_id"] is not None]
            bodies: dict[int, tuple[bytes, str]] = {}
            if message_ids:
                for mid, body, topic in conn.execute(queries.message_bodies(message_ids)):
                    bodies[mid] = (body, topic)
            rerun_ids = [r._mapping["id"] for r in rows if r._mapping["attempt"] > 1 or r._mapping["start_step"]]
            done: dict[int, dict[str, StepRecord]] = {}
            if rerun_ids:
                for step_row in conn.execute(queries.steps_of(rerun_ids)):
                    done.setdefault(step_row._mapping["run_id"], {})[step_row._mapping["name"]] = to_step(step_row)
        claimed: list[ClaimedRun] = []
        for row in sorted(rows, key=lambda r: (-r._mapping["priority"], r._mapping["id"])):
            record = to_run(row)
            found = bodies.get(record.message_id) if record.message_id is not None else None
            claimed.append(
                ClaimedRun(
                    run=record,
                    body=found[0] if found else None,
                    topic=found[1] if found else None,
                    done_steps=done.get(record.id, {}),
                )
            )
        return claimed

    def heartbeat(self, worker_id: str, run_ids: Sequence[int], lease_until: datetime) -> int:
        """Extend leases; returns how many runs this worker still holds."""
        if not run_ids:
            return 0
        with self.write() as conn:
            return int(conn.execute(queries.heartbeat(worker_id, run_ids, lease_until)).rowcount)

    def apply(self, transitions: Sequence[Transition], now: datetime) -> list[bool]:
        """Commit many runs' transitions in one transaction; each is fenced by its lease."""
        applied: list[bool] = []
        if not transitions:
            return applied
        step_rows: list[dict[str, Any]] = []
        binding_rows: list[dict[str, Any]] = []
        timeline_rows: list[dict[str, Any]] = []
        fact_rows: list[FactRow] = []
        with self.write() as conn:
            enqueued = False
            for t in transitions:
                values: dict[str, Any] = {"updated_at": now}
                if t.state is not None:
                    values.update(
                        state=t.state.value,
                        next_at=t.next_at or now,
                        last_error=t.last_error,
                        error_type=t.error_type,
                        lease_owner=None,
                        lease_until=None,
                        start_step=None,
                    )
                    if t.state.terminal:
                        values["ended_at"] = now
                    if t.failures is not None:
                        values["failures"] = t.failures
                ok = conn.execute(queries.fenced_transition(t.run_id, t.lease_owner, t.attempt, values)).rowcount == 1
                applied.append(ok)
                if not ok:
                    continue
                step_rows.extend(_step_rows(t.run_id, t.client_id, t.steps))
                binding_rows.extend(_binding_rows(t, now))
                timeline_rows.extend(_timeline_rows(t, now))
                fact_rows.extend(FactRow(t.client_id, t.run_id, f) for f in t.facts)
                if t.state is not None and t.state.terminal:
                    woke = conn.execute(queries.wake_waiters(t.run_id, now)).rowcount
                    enqueued = enqueued or woke > 0
                elif t.state in (RunState.QUEUED,):
                    enqueued = True
            if step_rows:
                self.upsert_steps(conn, step_rows)
            if binding_rows:
                self.insert_ignore(conn, bindings_table, binding_rows)
            if timeline_rows:
                conn.execute(queries.insert_timeline(), timeline_rows)
            if fact_rows:
                write_facts(self, conn, fact_rows, now)
            if enqueued:
                self.after_enqueue(conn)
        return applied

    def ensure_dependency(
        self, parent: Transition, child: NewRun, now: datetime, wait_until: datetime
    ) -> DependencyOutcome:
        """Create (or find) the child run; park the parent until the child ends."""
        dedupe_key = child.dedupe_key or f"{child.flow}:{child.ordering_key}"
        with self.write() as conn:
            row = _run_row(parent.client_id, None, child, None, now) | {"dedupe_key": dedupe_key}
            created = self.insert_ignore(conn, runs, [row]) == 1
            child_id, state, last_error = conn.execute(
                queries.run_id_by_dedupe(parent.client_id, child.flow, dedupe_key)
            ).one()
            self.lock_row_for_update(conn, child_id)
            state, last_error = conn.execute(queries.run_state(child_id)).one()
            child_state = RunState(state)
            if child_state.terminal:
                return DependencyOutcome(child_id, child_state, last_error, parent_waiting=False)
            values: dict[str, Any] = {
                "state": RunState.WAITING.value,
                "wait_for": child_id,
                "next_at": wait_until,
                "lease_owner": None,
                "lease_until": None,
                "updated_at": now,
            }
            fence = queries.fenced_transition(parent.run_id, parent.lease_owner, parent.attempt, values)
            waiting = conn.execute(fence).rowcount == 1
            if waiting and parent.steps:
                self.upsert_steps(conn, _step_rows(parent.run_id, parent.client_id, parent.steps))
            if waiting:  # the finished steps are skipped when the parent resumes: keep what they learnt now
                self._write_learnt(conn, parent, now)
            if created:
                self.after_enqueue(conn)
        return DependencyOutcome(child_id, child_state, last_error, parent_waiting=waiting)

    def _write_learnt(self, conn: Connection, t: Transition, now: datetime) -> None:
        """Bindings, timeline events and facts of one transition."""
        if t.bindings:
            self.insert_ignore(conn, bindings_table, _binding_rows(t, now))
        if t.timeline:
            conn.execute(queries.insert_timeline(), _timeline_rows(t, now))
        if t.facts:
            write_facts(self, conn, [FactRow(t.client_id, t.run_id, f) for f in t.facts], now)

    def rescue_expired(self, now: datetime, max_failures: int = 10) -> int:
        """Re-queue runs whose lease expired (dead after ``max_failures``); returns how many."""
        with self.write() as conn:
            count = int(conn.execute(queries.rescue_expired(now, max_failures)).rowcount)
            if count:
                self.after_enqueue(conn)
            return count

    def wake_orphaned_waiters(self, now: datetime) -> int:
        """Re-queue runs waiting for a run that already ended; returns how many."""
        with self.write() as conn:
            count = int(conn.execute(queries.wake_orphaned_waiters(now)).rowcount)
            if count:
                self.after_enqueue(conn)
            return count

    def take_tokens(
        self,
        client_id: str,
        connection_id: str,
        scope: str,
        want: float,
        minimum: float,
        rate: float,
        burst: float,
        now: datetime,
    ) -> BudgetGrant:
        """Take between ``minimum`` and ``want`` tokens from a shared bucket, or none and a wait."""
        with self.write() as conn:
            self.lock_name(conn, f"budget:{connection_id}:{scope}")
            row = conn.execute(queries.budget_row(connection_id, scope)).first()
            if row is None:
                self.insert_ignore(
                    conn,
                    rate_budgets,
                    [
                        {
                            "connection_id": connection_id,
                            "scope": scope,
                            "client_id": client_id,
                            "tokens": burst,
                            "capacity": burst,
                            "refill_per_second": rate,
                            "updated_at": now,
                        }
                    ],
                )
                row = conn.execute(queries.budget_row(connection_id, scope)).one()
            tokens, _capacity, _rate, updated_at = row
            elapsed = max((now - updated_at).total_seconds(), 0.0)
            level = min(burst, tokens + elapsed * rate)
            granted = min(want, level) if level >= minimum else 0.0
            level -= granted
            conn.execute(queries.update_budget(connection_id, scope, level, rate, burst, now))
        wait = 0.0 if granted else (minimum - level) / rate if rate > 0 else 3600.0
        return BudgetGrant(granted=granted, wait_seconds=wait, tokens_left=level)

    def next_due(self, now: datetime) -> datetime | None:
        """When the next claimable run is due (None when nothing is queued)."""
        with self.read() as conn:
            value: datetime | None = conn.execute(queries.next_due()).scalar()
            return value

    def try_lead(self, name: str, owner: str, ttl_seconds: float, now: datetime) -> bool:
        """Hold the named leadership lease for ``ttl_seconds`` if free, expired or already ours."""
        until = now + timedelta(seconds=ttl_seconds)
        with self.write() as conn:
            row = conn.execute(queries.leader_lease(name)).first()
            if row is None:
                self.insert_ignore(conn, leader_leases, [{"name": name, "owner": owner, "until": until}])
                return True
            holder, held_until = row
            if holder != owner and held_until > now:
                return False
            conn.execute(leader_leases.update().where(leader_leases.c.name == name).values(owner=owner, until=until))
            return True

    def purge_succeeded(self, before: datetime) -> int:
        """Delete succeeded runs (and then unreferenced messages) older than ``before``."""
        with self.write() as conn:
            count = int(conn.execute(queries.purge_succeeded(before)).rowcount)
            conn.execute(queries.purge_orphan_messages(before))
            return count
