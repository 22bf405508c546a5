"""Every SQL statement of the store, built with SQLAlchemy Core and referenced by name.

Dialect-specific statements (the claim, upserts, locks) live in ``sqlite.py`` and
``postgres.py``; everything here runs unchanged on both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Delete, Select, Update, and_, case, delete, func, insert, literal, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from tradewire.runtime.store.port import ACTIVE_STATES, CLAIMABLE_STATES, RunFilter, RunState
from tradewire.runtime.store.tables import (
    bindings,
    clients,
    connections,
    cursors,
    leader_leases,
    messages,
    rate_budgets,
    runs,
    steps,
    timeline,
)

_ACTIVE = [s.value for s in ACTIVE_STATES]
_CLAIMABLE = [s.value for s in CLAIMABLE_STATES]


def claimable_ids(limit: int, now: datetime) -> Select[int]:
    """Ids of runs that are due and at the head of their ordering key, best first.

    A run is blocked while another active run of its key is running, or comes before it
    by (ordering_seq, id): one key's runs never overtake each other.
    """
    blocker = runs.alias("blocker")
    blocked = (
        select(literal(1))
        .where(
            blocker.c.ordering_key == runs.c.ordering_key,
            blocker.c.state.in_(_ACTIVE),
            blocker.c.id != runs.c.id,
            or_(
                blocker.c.state == RunState.RUNNING.value,
                blocker.c.ordering_seq < runs.c.ordering_seq,
                and_(blocker.c.ordering_seq == runs.c.ordering_seq, blocker.c.id < runs.c.id),
            ),
        )
        .exists()
    )
    return (
        select(runs.c.id)
        .where(
            runs.c.state.in_(_CLAIMABLE),
            runs.c.next_at <= now,
            or_(runs.c.ordering_key.is_(None), ~blocked),
        )
        .order_by(runs.c.priority.desc(), runs.c.next_at, runs.c.id)
        .limit(limit)
    )


def mark_claimed(ids: ColumnElement[bool], worker_id: str, lease_until: datetime, now: datetime) -> Update:
    """Take the lease of the selected runs and bump their attempt (the fencing token)."""
    return (
        update(runs)
        .where(ids)
        .values(
            state=RunState.RUNNING.value,
            attempt=runs.c.attempt + 1,
            lease_owner=worker_id,
            lease_until=lease_until,
            updated_at=now,
        )
        .returning(*runs.c)
    )


def message_bodies(message_ids: Sequence[int]) -> Select[int, bytes, str]:
    """Raw bodies and topics of messages."""
    return select(messages.c.id, messages.c.body, messages.c.topic).where(messages.c.id.in_(message_ids))


def steps_of(run_ids: Sequence[int]) -> Select[*tuple[Any, ...]]:
    """Finished steps of runs, oldest first."""
    return select(steps).where(steps.c.run_id.in_(run_ids)).order_by(steps.c.run_id, steps.c.started_at)


def heartbeat(worker_id: str, run_ids: Sequence[int], lease_until: datetime) -> Update:
    """Extend the lease of runs this worker still holds."""
    return (
        update(runs)
        .where(runs.c.id.in_(run_ids), runs.c.lease_owner == worker_id, runs.c.state == RunState.RUNNING.value)
        .values(lease_until=lease_until)
    )


def fenced_transition(run_id: int, lease_owner: str, attempt: int, values: dict[str, object]) -> Update:
    """Change a run only if the caller still holds its lease at this attempt."""
    return (
        update(runs)
        .where(
            runs.c.id == run_id,
            runs.c.lease_owner == lease_owner,
            runs.c.attempt == attempt,
            runs.c.state == RunState.RUNNING.value,
        )
        .values(**values)
    )


def wake_waiters(run_id: int, now: datetime) -> Update:
    """Re-queue runs waiting for ``run_id`` (it just ended)."""
    return (
        update(runs)
        .where(runs.c.wait_for == run_id, runs.c.state == RunState.WAITING.value)
        .values(state=RunState.QUEUED.value, wait_for=None, next_at=now, updated_at=now)
    )


def wake_orphaned_waiters(now: datetime) -> Update:
    """Re-queue runs waiting for a run that already ended (a missed wake-up)."""
    ended = select(runs.c.id).where(runs.c.state.in_([RunState.SUCCEEDED.value, RunState.DEAD.value]))
    return (
        update(runs)
        .where(runs.c.state == RunState.WAITING.value, runs.c.wait_for.in_(ended.scalar_subquery()))
        .values(state=RunState.QUEUED.value, wait_for=None, next_at=now, updated_at=now)
    )


def rescue_expired(now: datetime, max_failures: int) -> Update:
    """Re-queue running runs whose lease expired (their worker died or hung).

    Worker deaths are counted apart from ordinary failures: a poison run that kills every
    worker that takes it goes to the dead letters after ``max_failures`` rescues instead of
    looping forever.
    """
    poisoned = runs.c.rescues + 1 >= max_failures
    return (
        update(runs)
        .where(runs.c.state == RunState.RUNNING.value, runs.c.lease_until < now)
        .values(
            state=case((poisoned, RunState.DEAD.value), else_=RunState.QUEUED.value),
            rescues=runs.c.rescues + 1,
            lease_owner=None,
            lease_until=None,
            next_at=now,
            updated_at=now,
            ended_at=case((poisoned, now), else_=None),
            error_type=case((poisoned, "WorkerLost"), else_=runs.c.error_type),
            last_error=case(
                (
                    poisoned,
                    f"its worker stopped heart-beating {max_failures} times (a poison run?); see the worker logs",
                ),
                else_="lease expired: the worker stopped heart-beating; run re-queued",
            ),
        )
    )


def next_due() -> Select[datetime]:
    """When the earliest claimable run becomes due."""
    return select(func.min(runs.c.next_at)).where(runs.c.state.in_(_CLAIMABLE))


def run_by_id(client_id: str, run_id: int) -> Select[*tuple[Any, ...]]:
    """One run of one client."""
    return select(runs).where(runs.c.id == run_id, runs.c.client_id == client_id)


def run_state(run_id: int) -> Select[str, str | None]:
    """State and last error of a run."""
    return select(runs.c.state, runs.c.last_error).where(runs.c.id == run_id)


def run_id_by_dedupe(client_id: str, flow: str, dedupe_key: str) -> Select[int, str, str | None]:
    """The run of ``flow`` with ``dedupe_key``."""
    return select(runs.c.id, runs.c.state, runs.c.last_error).where(
        runs.c.client_id == client_id, runs.c.flow == flow, runs.c.dedupe_key == dedupe_key
    )


def list_runs(client_id: str, run_filter: RunFilter) -> Select[*tuple[Any, ...]]:
    """Runs of one client, newest first."""
    query = select(runs).where(runs.c.client_id == client_id)
    if run_filter.state is not None:
        query = query.where(runs.c.state == run_filter.state.value)
    if run_filter.flow is not None:
        query = query.where(runs.c.flow == run_filter.flow)
    if run_filter.since is not None:
        query = query.where(runs.c.created_at >= run_filter.since)
    if run_filter.changed_since is not None:
        query = query.where(runs.c.updated_at >= run_filter.changed_since)
    if run_filter.ordering_key is not None:
        query = query.where(runs.c.ordering_key == run_filter.ordering_key)
    if run_filter.before_id is not None:
        query = query.where(runs.c.id < run_filter.before_id)
    return query.order_by(runs.c.id.desc()).limit(run_filter.limit)


def dead_run_ids(client_id: str, since: datetime | None, flow: str | None) -> Select[int]:
    """Ids of dead runs of one client, oldest first."""
    query = select(runs.c.id).where(runs.c.client_id == client_id, runs.c.state == RunState.DEAD.value)
    if since is not None:
        query = query.where(runs.c.updated_at >= since)
    if flow is not None:
        query = query.where(runs.c.flow == flow)
    return query.order_by(runs.c.id)


def replay_run(client_id: str, run_id: int, from_step: str | None, now: datetime) -> Update:
    """Put an ended run back in the queue (fresh failure count)."""
    return (
        update(runs)
        .where(
            runs.c.id == run_id,
            runs.c.client_id == client_id,
            runs.c.state.in_([RunState.SUCCEEDED.value, RunState.DEAD.value]),
        )
        .values(
            state=RunState.QUEUED.value,
            next_at=now,
            failures=0,
            rescues=0,
            start_step=from_step,
            last_error=None,
            error_type=None,
            ended_at=None,
            wait_for=None,
            updated_at=now,
            retry_since=now,
        )
    )


def delete_steps_from(run_id: int, from_started: datetime | None) -> Delete:
    """Forget the steps of a run from a point on (all of them without a point)."""
    query = delete(steps).where(steps.c.run_id == run_id)
    if from_started is not None:
        query = query.where(steps.c.started_at >= from_started)
    return query


def step_started(run_id: int, name: str) -> Select[datetime]:
    """When a step of a run started."""
    return select(steps.c.started_at).where(steps.c.run_id == run_id, steps.c.name == name)


def count_by_state(client_id: str | None) -> Select[str, int]:
    """Runs per state (of one client, or of all)."""
    query = select(runs.c.state, func.count()).group_by(runs.c.state)
    if client_id is not None:
        query = query.where(runs.c.client_id == client_id)
    return query


def binding(client_id: str, connection_id: str, object_type: str, external_id: str) -> Select[str]:
    """The canonical id bound to an external id."""
    return select(bindings.c.canonical_id).where(
        bindings.c.client_id == client_id,
        bindings.c.connection_id == connection_id,
        bindings.c.object_type == object_type,
        bindings.c.external_id == external_id,
    )


def bindings_by_canonical(
    client_id: str, connection_id: str, object_type: str, canonical_ids: Sequence[str]
) -> Select[str, str]:
    """External ids of canonical ids in one connection."""
    return select(bindings.c.canonical_id, bindings.c.external_id).where(
        bindings.c.client_id == client_id,
        bindings.c.connection_id == connection_id,
        bindings.c.object_type == object_type,
        bindings.c.canonical_id.in_(canonical_ids),
    )


def bindings_of_kinds(
    client_id: str, connection_id: str, object_types: Sequence[str], canonical_ids: Sequence[str]
) -> Select[str, str, str]:
    """(object type, canonical id, external id) of several object types at once."""
    return select(bindings.c.object_type, bindings.c.canonical_id, bindings.c.external_id).where(
        bindings.c.client_id == client_id,
        bindings.c.connection_id == connection_id,
        bindings.c.object_type.in_(object_types),
        bindings.c.canonical_id.in_(canonical_ids),
    )


def timeline_of(client_id: str, object_type: str, canonical_id: str) -> Select[*tuple[Any, ...]]:
    """Business events of one object, oldest first."""
    return (
        select(timeline)
        .where(
            timeline.c.client_id == client_id,
            timeline.c.object_type == object_type,
            timeline.c.canonical_id == canonical_id,
        )
        .order_by(timeline.c.id)
    )


def message_by_id(client_id: str, message_id: int) -> Select[*tuple[Any, ...]]:
    """One stored message of one client."""
    return select(messages).where(messages.c.id == message_id, messages.c.client_id == client_id)


def message_id_by_key(client_id: str, source: str, key: str) -> Select[int]:
    """The message stored under an idempotency key."""
    return select(messages.c.id).where(
        messages.c.client_id == client_id, messages.c.source == source, messages.c.idempotency_key == key
    )


def connection_by_id(connection_id: str) -> Select[*tuple[Any, ...]]:
    """One connection (system scope: this is how a webhook finds its client)."""
    return select(connections).where(connections.c.id == connection_id)


def connections_of_systems(systems: Sequence[str]) -> Select[*tuple[Any, ...]]:
    """Every connection to one of ``systems`` (system scope: the scheduler polls for all clients)."""
    return select(connections).where(connections.c.system.in_(list(systems))).order_by(connections.c.id)


def client_partner(client_id: str) -> Select[str]:
    """The partner a client belongs to."""
    return select(clients.c.partner_id).where(clients.c.id == client_id)


def all_clients() -> Select[str, str]:
    """Every client."""
    return select(clients.c.id, clients.c.name).order_by(clients.c.name)


def set_connection_status(connection_id: str, status: str, reason: str | None, now: datetime) -> Update:
    """Pause or resume a connection."""
    return (
        update(connections)
        .where(connections.c.id == connection_id)
        .values(status=status, paused_reason=reason, updated_at=now)
    )


def budget_row(connection_id: str, scope: str) -> Select[float, float, float, datetime]:
    """The token bucket of one connection scope."""
    return select(
        rate_budgets.c.tokens, rate_budgets.c.capacity, rate_budgets.c.refill_per_second, rate_budgets.c.updated_at
    ).where(rate_budgets.c.connection_id == connection_id, rate_budgets.c.scope == scope)


def update_budget(connection_id: str, scope: str, tokens: float, rate: float, burst: float, now: datetime) -> Update:
    """Store a bucket's level after a take."""
    return (
        update(rate_budgets)
        .where(rate_budgets.c.connection_id == connection_id, rate_budgets.c.scope == scope)
        .values(tokens=tokens, capacity=burst, refill_per_second=rate, updated_at=now)
    )


def cursor_value(client_id: str, connection_id: str, name: str) -> Select[str]:
    """A polling cursor."""
    return select(cursors.c.value).where(
        cursors.c.client_id == client_id, cursors.c.connection_id == connection_id, cursors.c.name == name
    )


def purge_succeeded(before: datetime) -> Delete:
    """Delete succeeded runs that ended before ``before`` (steps go with them)."""
    return delete(runs).where(runs.c.state == RunState.SUCCEEDED.value, runs.c.ended_at < before)


def purge_orphan_messages(before: datetime) -> Delete:
    """Delete old messages no run refers to any more."""
    used = select(runs.c.message_id).where(runs.c.message_id.is_not(None))
    return delete(messages).where(messages.c.received_at < before, messages.c.id.not_in(used.scalar_subquery()))


DialectInsert = Callable[[Any], Any]
"""``sqlalchemy.dialects.<name>.insert``: both dialects spell ON CONFLICT the same way."""


def insert_ignore(dialect_insert: DialectInsert, table: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING <key>``, executed with the rows as parameters.

    The rows returned are those inserted. The statement has no values baked in, so SQLAlchemy
    compiles it once and caches it (a multi-row ``.values([...])`` is recompiled every time).
    """
    key = next(iter(table.primary_key.columns))
    return dialect_insert(table).on_conflict_do_nothing().returning(key)


def upsert_steps(dialect_insert: DialectInsert) -> Any:
    """Insert or replace step checkpoints (executed with a list of rows)."""
    stmt = dialect_insert(steps)
    return stmt.on_conflict_do_update(
        index_elements=[steps.c.run_id, steps.c.name],
        set_={c: stmt.excluded[c] for c in ("attempt", "output", "error", "started_at", "ended_at", "calls")},
    )


def upsert_cursor(dialect_insert: DialectInsert, row: dict[str, Any]) -> Any:
    """Insert or replace a polling cursor."""
    stmt = dialect_insert(cursors).values(row)
    return stmt.on_conflict_do_update(
        index_elements=[cursors.c.connection_id, cursors.c.name],
        set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
    )


def leader_lease(name: str) -> Select[str, datetime]:
    """The holder of a named leadership lease."""
    return select(leader_leases.c.owner, leader_leases.c.until).where(leader_leases.c.name == name)


def take_leader_lease(name: str, owner: str, until: datetime) -> Update:
    """Give a named leadership lease to ``owner`` until ``until``."""
    return update(leader_leases).where(leader_leases.c.name == name).values(owner=owner, until=until)


def insert_run(row: dict[str, Any]) -> Any:
    """Create one run, returning its id."""
    return insert(runs).values(row).returning(runs.c.id)


def insert_timeline() -> Any:
    """Append timeline events (executed with a list of rows)."""
    return insert(timeline)


def upsert_named(dialect_insert: DialectInsert, table: Any, row: dict[str, Any], keep: Sequence[str]) -> Any:
    """Insert a row keyed by ``id``, or update its columns except ``keep``."""
    stmt = dialect_insert(table).values(row)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.id], set_={k: stmt.excluded[k] for k in row if k not in ("id", *keep)}
    )
