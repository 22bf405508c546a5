"""Find a connection, decrypt its credentials, and know where its flows send data."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tradewire.connectors.base.spec import Connection
from tradewire.errors import ConfigError
from tradewire.runtime.store.port import ConnectionRecord, Store
from tradewire.tenancy.secrets import SecretBox

PLATFORM_KEYS = ("routes", "budgets", "poll", "holds")


@dataclass(frozen=True)
class ResolvedConnection:
    """A connection ready to use: vendor view, routes, budget overrides and status."""

    connection: Connection
    routes: Mapping[str, str]
    budgets: Mapping[str, Mapping[str, float]]
    status: str
    paused_reason: str | None
    poll: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per stream: ``every_seconds`` (interval) and ``enabled`` (false stops polling that stream)."""
    holds: Mapping[str, Any] = field(default_factory=dict)
    """Order hold rules of a channel connection (see :mod:`tradewire.flows.hold_rules`)."""

    def poll_interval(self, stream: str, default: float) -> float | None:
        """Seconds between polls of ``stream``, or None when the connection turned it off."""
        options = self.poll.get(stream) or {}
        if options.get("enabled", True) is False:
            return None
        every = options.get("every_seconds", default)
        try:
            return max(float(every), 1.0)
        except (TypeError, ValueError):
            raise ConfigError(
                f"connection {self.connection.id}: settings.poll.{stream}.every_seconds must be a number, got {every!r}"
            ) from None

    def route(self, name: str) -> str:
        """The connection id a flow of this connection sends ``name`` data to.

        Raises:
            ConfigError: the route is not configured.
        """
        target = self.routes.get(name)
        if not target:
            raise ConfigError(
                f"connection {self.connection.id} has no route {name!r}; "
                f"set settings.routes.{name} to the target connection id"
            )
        return target


def split_settings(settings: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str], dict[str, dict[str, float]]]:
    """Vendor settings, routes and budget overrides of a stored settings document."""
    vendor = {k: v for k, v in settings.items() if k not in PLATFORM_KEYS}
    routes = {str(k): str(v) for k, v in dict(settings.get("routes") or {}).items()}
    budgets = {
        str(k): {str(a): float(b) for a, b in dict(v).items()} for k, v in dict(settings.get("budgets") or {}).items()
    }
    return vendor, routes, budgets


def resolve(record: ConnectionRecord, box: SecretBox) -> ResolvedConnection:
    """Decrypt and split one stored connection."""
    vendor, routes, budgets = split_settings(record.settings)
    connection = Connection(
        id=record.id,
        client_id=record.client_id,
        system=record.system,
        settings=vendor,
        secrets=box.open(record.secrets),
    )
    poll = {str(k): dict(v) for k, v in dict(record.settings.get("poll") or {}).items() if isinstance(v, Mapping)}
    holds = dict(record.settings.get("holds") or {}) if isinstance(record.settings.get("holds"), Mapping) else {}
    return ResolvedConnection(connection, routes, budgets, record.status, record.paused_reason, poll, holds)


class ConnectionCache:
    """Resolved connections kept for ``ttl`` seconds, so a worker decrypts each one rarely."""

    def __init__(self, store: Store, box: SecretBox, ttl: float = 5.0) -> None:
        self.store = store
        self.box = box
        self.ttl = ttl
        self._cache: dict[str, tuple[float, ResolvedConnection]] = {}

    def get(self, connection_id: str) -> ResolvedConnection:
        """The connection, from cache when fresh (blocking: call from a DB thread)."""
        hit = self._cache.get(connection_id)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        resolved = resolve(self.store.get_connection(connection_id), self.box)
        self._cache[connection_id] = (now, resolved)
        return resolved

    def peek(self, connection_id: str) -> ResolvedConnection | None:
        """The cached connection if fresh, without touching the store."""
        hit = self._cache.get(connection_id)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        return None

    def forget(self, connection_id: str) -> None:
        """Drop a cached connection (after its status or settings changed)."""
        self._cache.pop(connection_id, None)
