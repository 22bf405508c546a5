"""The store port: everything flows, workers and services may ask of the database.

Three implementations pass one contract suite: SQLite (embedded default), PostgreSQL
(many hosts) and the in-memory twin (unit tests). Flows and services import this module
only; SQL stays behind it.

Tenant methods read the client from :mod:`tradewire.tenancy.context` and raise
``TenantContextMissing`` without one. Worker methods (claim, heartbeat, apply, rescue) are
fenced by lease instead: they act on runs the caller has claimed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from tradewire.governance.audit_chain import AuditEntry, AuditHead
from tradewire.runtime.store.port_access import ApiKeyRecord, ClientRecord, PartnerRecord
from tradewire.runtime.store.port_facts import ExceptionFilter, ExceptionRecord, StoredObject
from tradewire.runtime.store.port_inventory import (
    ChannelListing,
    ChannelPosition,
    DirtySku,
    PolicyVersion,
    Publication,
    StockPosition,
)
from tradewire.runtime.store.port_operations import HoldRecord, HoldState
from tradewire.runtime.store.port_returns import RmaFilter, StoredRma


class RunState(StrEnum):
    """Where a run is. See docs/run-states.md for the diagram and who moves it."""

    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    RETRY_SCHEDULED = "retry_scheduled"
    SUCCEEDED = "succeeded"
    DEAD = "dead"

    @property
    def terminal(self) -> bool:
        """True for succeeded and dead."""
        return self in (RunState.SUCCEEDED, RunState.DEAD)


ACTIVE_STATES = (RunState.QUEUED, RunState.RUNNING, RunState.WAITING, RunState.RETRY_SCHEDULED)
CLAIMABLE_STATES = (RunState.QUEUED, RunState.RETRY_SCHEDULED, RunState.WAITING)


# --- tenancy ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionRecord:
    """One client's account on one system, as stored (secrets still encrypted)."""

    id: str
    client_id: str
    system: str
    name: str
    settings: dict[str, Any]
    secrets: bytes
    status: str
    paused_reason: str | None = None


# --- ingest -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewRun:
    """A run to create together with its message (outbox pattern) or as a dependency."""

    flow: str
    flow_version: int
    ordering_key: str | None = None
    ordering_seq: int = 0
    priority: int = 0
    input: dict[str, Any] | None = None
    dedupe_key: str | None = None


@dataclass(frozen=True)
class IngestItem:
    """One inbound message and the runs it starts, written in one transaction."""

    client_id: str
    connection_id: str | None
    source: str
    topic: str
    idempotency_key: str
    body: bytes
    headers: dict[str, str]
    runs: tuple[NewRun, ...]
    received_at: datetime


@dataclass(frozen=True)
class CursorUpdate:
    """A polling cursor to store in the same transaction as the messages it covers."""

    client_id: str
    connection_id: str
    name: str
    value: str


@dataclass(frozen=True)
class IngestResult:
    """What happened to one ingested message."""

    message_id: int
    duplicate: bool
    run_ids: tuple[int, ...] = ()


# --- runs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepRecord:
    """A finished step: its output is what a re-run or replay reuses."""

    name: str
    attempt: int
    output: Any
    started_at: datetime
    ended_at: datetime
    error: str | None = None
    calls: tuple[dict[str, Any], ...] = ()
    """Vendor HTTP calls the step made (method, host, path, status, ms, at; never bodies or secrets)."""


@dataclass(frozen=True)
class RunRecord:
    """One run as operators see it."""

    id: int
    client_id: str
    connection_id: str | None
    flow: str
    flow_version: int
    state: RunState
    message_id: int | None
    ordering_key: str | None
    ordering_seq: int
    attempt: int
    failures: int
    next_at: datetime | None
    lease_owner: str | None
    lease_until: datetime | None
    wait_for: int | None
    start_step: str | None
    last_error: str | None
    error_type: str | None
    input: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    steps: tuple[StepRecord, ...] = ()
    retry_since: datetime | None = None
    rescues: int = 0

    @property
    def window_start(self) -> datetime:
        """Where the retry window starts: the last replay, else the run's creation."""
        return self.retry_since or self.created_at


@dataclass(frozen=True)
class ClaimedRun:
    """A run a worker now holds, with what it needs to execute."""

    run: RunRecord
    body: bytes | None
    topic: str | None
    done_steps: dict[str, StepRecord]


@dataclass(frozen=True)
class Binding:
    """External id ↔ canonical id in one connection."""

    connection_id: str
    object_type: str
    external_id: str
    canonical_id: str


@dataclass(frozen=True)
class TimelineEvent:
    """A business event on one canonical object (``order.exported``…)."""

    object_type: str
    canonical_id: str
    event: str
    system: str | None = None
    connection_id: str | None = None
    external_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    run_id: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Transition:
    """Everything one run commits at once, fenced by its lease.

    Applied only if ``lease_owner`` and ``attempt`` still match the stored run, so a worker
    that lost its lease (a zombie) changes nothing. ``state`` None keeps the run running
    (a checkpoint).
    """

    run_id: int
    client_id: str
    lease_owner: str
    attempt: int
    state: RunState | None
    steps: tuple[StepRecord, ...] = ()
    next_at: datetime | None = None
    failures: int | None = None
    last_error: str | None = None
    error_type: str | None = None
    bindings: tuple[Binding, ...] = ()
    timeline: tuple[TimelineEvent, ...] = ()
    facts: tuple[Any, ...] = ()
    """Area records committed with the run (see :mod:`tradewire.runtime.store.port_facts`)."""


@dataclass(frozen=True)
class DependencyOutcome:
    """What became of a dependency a run asked for."""

    run_id: int
    state: RunState
    last_error: str | None
    parent_waiting: bool


@dataclass(frozen=True)
class RunFilter:
    """Operator queries over runs (all fields optional, combined with AND).

    ``since`` filters on creation, ``changed_since`` on the last change (e.g. when a run died).
    """

    state: RunState | None = None
    flow: str | None = None
    since: datetime | None = None
    changed_since: datetime | None = None
    ordering_key: str | None = None
    limit: int = 100
    before_id: int | None = None


@dataclass(frozen=True)
class MessageRecord:
    """One stored inbound message."""

    id: int
    client_id: str
    connection_id: str | None
    source: str
    topic: str
    idempotency_key: str
    headers: dict[str, str]
    body: bytes
    received_at: datetime


@dataclass(frozen=True)
class BudgetGrant:
    """Tokens granted from a shared bucket, and how long until the next one."""

    granted: float
    wait_seconds: float
    tokens_left: float


# --- the port -----------------------------------------------------------------------------


class Store(Protocol):
    """The durable store. All methods are synchronous; async callers use a thread."""

    dialect: str

    # lifecycle
    def close(self) -> None: ...

    # tenancy (system scope: these create or find the tenant itself)
    def create_partner(self, name: str, *, partner_id: str | None = None) -> str: ...
    def create_client(self, partner_id: str, name: str, *, client_id: str | None = None) -> str: ...
    def create_connection(
        self,
        client_id: str,
        system: str,
        name: str,
        settings: dict[str, Any],
        secrets: bytes,
        *,
        connection_id: str | None = None,
    ) -> str: ...
    def get_connection(self, connection_id: str) -> ConnectionRecord: ...
    def put_tenant(self, partner: tuple[str, str], client: tuple[str, str]) -> None: ...
    def put_connection(
        self, connection_id: str, client_id: str, system: str, name: str, settings: dict[str, Any], secrets: bytes
    ) -> bool: ...
    def list_clients(self) -> list[tuple[str, str]]: ...
    def connection_secrets(self) -> list[tuple[str, str, bytes]]: ...
    def swap_connection_secrets(self, connection_id: str, expected: bytes, sealed: bytes) -> bool: ...
    def connections_of(self, systems: Sequence[str]) -> list[ConnectionRecord]: ...
    def set_connection_status(self, connection_id: str, status: str, reason: str | None) -> None: ...

    # ingest (the connection already established the client)
    def ingest(
        self, items: Sequence[IngestItem], *, cursor: CursorUpdate | None = None, now: datetime | None = None
    ) -> list[IngestResult]: ...

    # worker (fenced by lease)
    def claim(self, worker_id: str, limit: int, lease_seconds: float, now: datetime) -> list[ClaimedRun]: ...
    def heartbeat(self, worker_id: str, run_ids: Sequence[int], lease_until: datetime) -> int: ...
    def apply(self, transitions: Sequence[Transition], now: datetime) -> list[bool]: ...
    def ensure_dependency(
        self, parent: Transition, child: NewRun, now: datetime, wait_until: datetime
    ) -> DependencyOutcome: ...
    def rescue_expired(self, now: datetime, max_failures: int = 10) -> int: ...
    def wake_orphaned_waiters(self, now: datetime) -> int: ...
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
    ) -> BudgetGrant: ...
    def next_due(self, now: datetime) -> datetime | None: ...
    def subscribe_wakeups(self, callback: Callable[[], None]) -> Callable[[], None] | None: ...

    # tenant queries (need a client context)
    def get_binding(self, connection_id: str, object_type: str, external_id: str) -> Binding | None: ...
    def find_bindings(self, connection_id: str, object_type: str, canonical_ids: Sequence[str]) -> dict[str, str]: ...
    def find_bindings_many(
        self, connection_id: str, wanted: Mapping[str, Sequence[str]]
    ) -> dict[str, dict[str, str]]: ...
    def timeline(self, object_type: str, canonical_id: str) -> list[TimelineEvent]: ...
    def get_run(self, run_id: int) -> RunRecord: ...
    def list_runs(self, run_filter: RunFilter) -> list[RunRecord]: ...
    def get_message(self, message_id: int) -> MessageRecord: ...
    def replay(self, run_ids: Sequence[int], from_step: str | None, now: datetime) -> list[int]: ...
    def dead_run_ids(self, since: datetime | None, flow: str | None) -> list[int]: ...
    def count_by_state(self) -> dict[str, int]: ...
    def get_cursor(self, connection_id: str, name: str) -> str | None: ...
    def set_cursor(self, connection_id: str, name: str, value: str, now: datetime) -> None: ...
    def append_audit(
        self,
        actor: str,
        action: str,
        target: str,
        detail: dict[str, Any],
        now: datetime,
        *,
        source: str | None = None,
    ) -> str: ...
    def list_audit(
        self, *, limit: int = 100, before_seq: int | None = None, action: str | None = None
    ) -> list[AuditEntry]: ...

    # facts outside runs, snapshots and exceptions (need a client context)
    def record_facts(self, facts: Sequence[Any], now: datetime) -> None: ...
    def get_object(self, object_type: str, canonical_id: str) -> StoredObject | None: ...
    def find_objects(self, object_type: str, label: str, limit: int = 20) -> list[StoredObject]: ...
    def list_exceptions(self, exception_filter: ExceptionFilter) -> list[ExceptionRecord]: ...
    def get_exception(self, exception_id: int) -> ExceptionRecord: ...
    def resolve_exception(self, exception_id: int, actor: str, resolution: str, now: datetime) -> ExceptionRecord: ...
    def resolve_exceptions_by_key(self, keys: Sequence[str], actor: str, resolution: str, now: datetime) -> int: ...

    # audit chains (system scope: verification, export, re-sealing)
    def append_system_audit(
        self, actor: str, action: str, target: str, detail: dict[str, Any], now: datetime, *, source: str | None = None
    ) -> str: ...
    def audit_chains(self) -> list[str]: ...
    def audit_head(self, chain: str) -> AuditHead | None: ...
    def audit_entries(self, chain: str, *, after_seq: int = 0, limit: int = 1000) -> list[AuditEntry]: ...
    def reseal_audit(self, chain: str, now: datetime) -> int: ...

    # partners, clients, sub-accounts and API keys (system scope: they decide access)
    def list_partners(self) -> list[PartnerRecord]: ...
    def get_partner(self, partner_id: str) -> PartnerRecord: ...
    def get_client(self, client_id: str) -> ClientRecord: ...
    def list_client_records(self, partner_id: str | None = None) -> list[ClientRecord]: ...
    def client_ancestors(self, client_id: str) -> tuple[str, ...]: ...
    def create_sub_account(self, parent_id: str, name: str, now: datetime, *, client_id: str) -> ClientRecord: ...
    def insert_api_key(self, record: ApiKeyRecord) -> None: ...
    def api_key_by_prefix(self, prefix: str) -> ApiKeyRecord | None: ...
    def get_api_key(self, key_id: str) -> ApiKeyRecord: ...
    def list_api_keys(self, partner_id: str, client_ids: list[str] | None = None) -> list[ApiKeyRecord]: ...
    def revoke_api_key(self, key_id: str, now: datetime) -> bool: ...
    def touch_api_key(self, key_id: str, now: datetime) -> None: ...

    # operations (system scope)
    def count_all_by_state(self) -> dict[str, int]: ...
    def try_lead(self, name: str, owner: str, ttl_seconds: float, now: datetime) -> bool: ...
    def purge_succeeded(self, before: datetime) -> int: ...

    # returns (need a client context; RMAs are written as facts)
    def get_rma(self, rma_id: str) -> StoredRma | None: ...
    def list_rmas(self, rma_filter: RmaFilter) -> list[StoredRma]: ...
    # operations
    def get_hold(self, order_id: str) -> HoldRecord | None: ...
    def list_holds(self, state: HoldState | None, limit: int = 100) -> list[HoldRecord]: ...
    def release_hold(self, order_id: str, actor: str, reason: str, now: datetime) -> HoldRecord: ...
    def list_objects(
        self, object_type: str, changed_before: datetime, after_id: str | None = None, limit: int = 500
    ) -> list[StoredObject]: ...
    # inventory (need a client context; see port_inventory)
    def stock_positions(self, skus: Sequence[str] | None = None) -> list[StockPosition]: ...
    def dirty_skus(self, limit: int = 500) -> list[DirtySku]: ...
    def clear_dirty(self, handled: Sequence[DirtySku]) -> int: ...
    def mark_skus_dirty(self, skus: Sequence[str] | None, now: datetime) -> int: ...
    def channel_listings(self, skus: Sequence[str]) -> list[ChannelListing]: ...
    def channel_positions(self, skus: Sequence[str]) -> list[ChannelPosition]: ...
    def record_publications(self, publications: Sequence[Publication], now: datetime) -> None: ...
    def list_publications(self, sku: str | None = None, limit: int = 100) -> list[Publication]: ...
    def put_inventory_policy(self, document: dict[str, Any], actor: str, now: datetime) -> PolicyVersion: ...
    def get_inventory_policy(self, version: int | None = None) -> PolicyVersion | None: ...
    def inventory_policy_history(self, limit: int = 20) -> list[PolicyVersion]: ...
