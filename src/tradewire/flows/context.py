"""What a step can reach: its run's input, earlier outputs, the store (through the port),
connections and their connectors (through ``SPEC``), bindings and the timeline."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tradewire.connectors import get_spec
from tradewire.connectors.base.binding import Binder
from tradewire.connectors.base.spec import ConnectorSpec, OrderReader, OrderSink
from tradewire.errors import ConfigError, ConnectionPaused, RateBudgetWait
from tradewire.flows.retry import RetryPolicy
from tradewire.observability import metrics
from tradewire.runtime.budget import StoreRateBudget, merged_limits
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.port import Binding, ClaimedRun, NewRun, Store, TimelineEvent
from tradewire.runtime.store.port_facts import OpenException
from tradewire.tenancy.connections import ConnectionCache, ResolvedConnection

__all__ = ["FlowEnv", "NeedsDependency", "ParkRun", "RateBudgetWait", "StepContext"]


class NeedsDependency(Exception):
    """Raised by a step that cannot go on until another run (``child``) has ended."""

    def __init__(self, child: NewRun) -> None:
        super().__init__(f"needs {child.flow}")
        self.child = child


class ParkRun(Exception):
    """Raised by a step that must wait until ``until`` (or until woken earlier, e.g. a released hold).

    The run is parked ``waiting`` without counting a failure; the facts, bindings and timeline
    events the step recorded are committed with it, and the step runs again when the run wakes.
    """

    def __init__(self, reason: str, until: datetime) -> None:
        super().__init__(reason)
        self.until = until


log = logging.getLogger("tradewire.flows")


def capability_factory(spec: ConnectorSpec, capability: str) -> Any:
    """The SPEC's client factory for ``capability`` (``order_sink``, ``sources.shipment``…), or None."""
    if capability.startswith("sources."):
        source = spec.sources.get(capability.removeprefix("sources."))
        return source.reader if source is not None else None
    return getattr(spec, capability, None)


@dataclass
class FlowEnv:
    """Long-lived resources shared by every run a worker executes."""

    store: Store
    db: DbExecutor
    connections: ConnectionCache
    retry: RetryPolicy
    clock: Callable[[], datetime]
    max_inline_budget_wait: float = 2.0
    _clients: dict[tuple[str, str], tuple[ResolvedConnection, Any]] = field(default_factory=dict)
    """Vendor clients by (capability, connection id), with the connection they were built for."""

    async def connection(self, connection_id: str) -> ResolvedConnection:
        """The resolved connection (cached for a few seconds).

        Raises:
            ConnectionPaused: the connection is paused; the run is parked until it is resumed.
        """
        resolved = self.connections.peek(connection_id)
        if resolved is None:
            resolved = await self.db.call(self.connections.get, connection_id)
        if resolved.status == "paused":
            raise ConnectionPaused(
                f"connection {connection_id} is paused: {resolved.paused_reason or 'by an operator'}", retry_after=60.0
            )
        return resolved

    def budget_for(self, resolved: ResolvedConnection, spec: ConnectorSpec) -> StoreRateBudget:
        """The connection's shared budget, with its settings' overrides of the vendor defaults."""
        return StoreRateBudget(
            self.store,
            self.db,
            client_id=resolved.connection.client_id,
            connection_id=resolved.connection.id,
            limits=merged_limits(spec.rate_limits, resolved.budgets),
            clock=self.clock,
            max_inline_wait=self.max_inline_budget_wait,
        )

    async def order_sink(self, connection_id: str) -> OrderSink:
        """The connection's order sink (one client per connection and process)."""
        sink: OrderSink = await self._vendor_client(connection_id, "order_sink", "receive orders")
        return sink

    async def order_reader(self, connection_id: str) -> OrderReader:
        """The connection's order reader, for notifications that only name the order (cached)."""
        reader: OrderReader = await self._vendor_client(connection_id, "order_reader", "read orders")
        return reader

    async def vendor(self, connection_id: str, capability: str) -> Any:
        """The connection's client for a SPEC capability (``shipment_sink``, ``refund_sink``…), cached.

        Raises:
            ConfigError: the connector does not offer ``capability``.
        """
        return await self._vendor_client(connection_id, capability, f"provide {capability.replace('_', ' ')}")

    async def _vendor_client(self, connection_id: str, capability: str, what: str) -> Any:
        """The connector's ``capability`` client for one connection, rebuilt when its settings change."""
        resolved = await self.connection(connection_id)
        key = (capability, connection_id)
        cached = self._clients.get(key)
        if cached is not None and cached[0].connection == resolved.connection:
            return cached[1]
        spec = get_spec(resolved.connection.system)
        factory = capability_factory(spec, capability)
        if factory is None:
            raise ConfigError(f"{spec.display_name} cannot {what} (connection {connection_id})")
        client = factory(resolved.connection, self.budget_for(resolved, spec), None)
        if cached is not None:
            await cached[1].aclose()
        self._clients[key] = (resolved, client)
        return client

    def pause_connection(self, connection_id: str, reason: str) -> None:
        """Pause a connection whose credentials were refused (blocking, rare), and raise the alarm.

        The alarm is an ERROR log line ``connection paused`` and the counter
        ``tradewire_connections_paused_total`` (alert on its increase); runs of the connection
        wait, parked, until an operator fixes the credentials and resumes it.
        """
        cached = self.connections.peek(connection_id)
        self.store.set_connection_status(connection_id, "paused", reason)
        self.connections.forget(connection_id)
        system = cached.connection.system if cached is not None else "unknown"
        metrics.CONNECTIONS_PAUSED.labels(system=system).inc()
        log.error("connection paused", extra={"connection": connection_id, "reason": reason})

    async def aclose(self) -> None:
        """Close every vendor client."""
        for _, client in self._clients.values():
            await client.aclose()
        self._clients.clear()


@dataclass
class StepContext:
    """One run's view while its steps execute."""

    env: FlowEnv
    claimed: ClaimedRun
    outputs: dict[str, Any]
    bindings: list[Binding] = field(default_factory=list)
    events: list[TimelineEvent] = field(default_factory=list)
    skip_reason: str | None = None
    last_connection_id: str | None = None
    memo: dict[str, Any] = field(default_factory=dict)
    """Objects steps derive from outputs (e.g. the parsed order), kept for this execution only."""
    known: dict[tuple[str, str, str], str | None] = field(default_factory=dict)
    """Bindings prefetched in this execution: (connection, object type, canonical id) → external id or None."""
    facts: list[Any] = field(default_factory=list)
    """Facts (stock movements, exceptions…) committed with the run's transition."""

    @property
    def client_id(self) -> str:
        """The run's client."""
        return self.claimed.run.client_id

    @property
    def source_connection_id(self) -> str:
        """The connection the run's message came from.

        Raises:
            ConfigError: the run has no source connection.
        """
        cid = self.claimed.run.connection_id
        if cid is None:
            raise ConfigError(f"run {self.claimed.run.id} has no source connection")
        return cid

    def now(self) -> datetime:
        """The engine's clock."""
        return self.env.clock()

    async def connection(self, connection_id: str) -> ResolvedConnection:
        """A connection (parks the run if it is paused)."""
        return await self.env.connection(connection_id)

    async def order_sink(self, connection_id: str) -> OrderSink:
        """The order sink of a connection; an auth failure after this pauses that connection."""
        self.last_connection_id = connection_id
        return await self.env.order_sink(connection_id)

    async def order_reader(self, connection_id: str) -> OrderReader:
        """The order reader of a connection; an auth failure after this pauses that connection."""
        self.last_connection_id = connection_id
        return await self.env.order_reader(connection_id)

    async def vendor(self, connection_id: str, capability: str) -> Any:
        """A connection's client for a SPEC capability; an auth failure after this pauses that connection."""
        self.last_connection_id = connection_id
        return await self.env.vendor(connection_id, capability)

    async def prefetch_bindings(self, connection_id: str, wanted: Mapping[str, Sequence[str]]) -> None:
        """Look up bindings of several object types in one query; later lookups of them cost nothing."""
        found = await self.env.db.call(self.env.store.find_bindings_many, connection_id, wanted)
        for object_type, ids in wanted.items():
            for canonical in ids:
                self.known[(connection_id, object_type, canonical)] = found[object_type].get(canonical)

    async def find_bindings(self, connection_id: str, object_type: str, canonical_ids: Sequence[str]) -> dict[str, str]:
        """External ids of canonical ids already bound in a connection (this run's new ones included)."""
        found = {
            b.canonical_id: b.external_id
            for b in self.bindings
            if b.connection_id == connection_id and b.object_type == object_type and b.canonical_id in canonical_ids
        }
        missing: list[str] = []
        for canonical in canonical_ids:
            if canonical in found:
                continue
            key = (connection_id, object_type, canonical)
            if key in self.known:
                external = self.known[key]
                if external is not None:
                    found[canonical] = external
            else:
                missing.append(canonical)
        if missing:
            found |= await self.env.db.call(self.env.store.find_bindings, connection_id, object_type, missing)
        return found

    async def timeline(self, object_type: str, canonical_id: str) -> list[TimelineEvent]:
        """Business events of an object so far."""
        return await self.env.db.call(self.env.store.timeline, object_type, canonical_id)

    def binder(self, connection_id: str, object_type: str) -> Binder:
        """The binder of ``object_type`` in a connection."""
        return Binder(self, connection_id, object_type)

    def bind(self, connection_id: str, object_type: str, external_id: str, canonical_id: str) -> None:
        """Record a binding, committed with the run's transition."""
        self.bindings.append(Binding(connection_id, object_type, external_id, canonical_id))

    def event(self, object_type: str, canonical_id: str, event: str, **detail: Any) -> None:
        """Append a timeline event, committed with the run's transition."""
        system = detail.pop("system", None)
        connection_id = detail.pop("connection_id", None)
        external_id = detail.pop("external_id", None)
        at = detail.pop("at", None)
        self.events.append(
            TimelineEvent(object_type, canonical_id, event, system, connection_id, external_id, detail, None, at)
        )

    def record(self, fact: Any) -> None:
        """Record a fact (see :mod:`tradewire.runtime.store.port_facts`), committed with the run's transition.

        Facts recorded before a failure are kept, like bindings: an exception opened by a step
        that then gives up is stored with the dead run.
        """
        self.facts.append(fact)

    def open_exception(
        self, key: str, kind: str, object_type: str, canonical_id: str, message: str, **detail: Any
    ) -> None:
        """Open an exception for a person (committed with the run; ``key`` names the problem)."""
        self.record(OpenException(key, kind, object_type, canonical_id, message, detail))

    def need(self, child: NewRun) -> None:
        """Stop here until ``child`` has ended (it is created once, whoever asks first)."""
        raise NeedsDependency(child)
