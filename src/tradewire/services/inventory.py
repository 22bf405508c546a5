"""Inventory use cases for the CLI and API: policies, on-hand figures, preview, publish (audited)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tradewire.connectors import get_spec
from tradewire.errors import ConfigError, NotFound
from tradewire.flows.context import FlowEnv
from tradewire.inventory.allocation import SkuAllocation, allocate, skus_needed
from tradewire.inventory.policy import AllocationPolicy, parse_policy, policy_from_document, policy_yaml
from tradewire.inventory.publisher import OutboxPublisher, Progress, PublishReport
from tradewire.runtime.dbthread import DbExecutor
from tradewire.runtime.store.port import Store
from tradewire.runtime.store.port_inventory import OnHandSnapshot, PolicyVersion
from tradewire.settings import Settings
from tradewire.tenancy.connections import ConnectionCache
from tradewire.tenancy.context import client_scope
from tradewire.tenancy.secrets import SecretBox


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class PreviewLine:
    """What one channel would get for one SKU, what it lists now, and why."""

    sku: str
    connection_id: str
    quantity: int
    listed: int | None
    why: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON for ``--json``."""
        return {
            "sku": self.sku,
            "channel": self.connection_id,
            "quantity": self.quantity,
            "listed": self.listed,
            "why": list(self.why),
        }


def policy_as_yaml(version: PolicyVersion) -> str:
    """A stored policy version as the YAML an operator edits."""
    return policy_yaml(policy_from_document(version.document))


class InventoryService:
    """Everything an operator does with inventory, for one client."""

    def __init__(self, store: Store, client_id: str, *, actor: str, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.client_id = client_id
        self.actor = actor
        self.clock = clock

    def policy(self) -> PolicyVersion:
        """The current policy version.

        Raises:
            NotFound: no policy applied yet.
        """
        with client_scope(self.client_id):
            found = self.store.get_inventory_policy()
        if found is None:
            raise NotFound("no inventory policy yet: write one (see docs/inventory.md) and `inventory policy apply`")
        return found

    def apply_policy(self, text: str) -> PolicyVersion:
        """Validate a YAML policy and store it as the next version (audited); every SKU is republished.

        Raises:
            ConfigError: the YAML is not a valid policy (nothing is stored).
        """
        policy = parse_policy(text)
        for channel in policy.channels:
            self._check_channel(channel.connection)
        with client_scope(self.client_id):
            return self.store.put_inventory_policy(policy.model_dump(mode="json"), self.actor, self.clock())

    def _check_channel(self, connection_id: str) -> None:
        """Refuse a policy naming a connection this client lacks, or one that cannot take quantities."""
        try:
            connection = self.store.get_connection(connection_id)
        except NotFound:
            connection = None
        if connection is None or connection.client_id != self.client_id:
            raise ConfigError(f"channel {connection_id!r} is not a connection of this client")
        if get_spec(connection.system).inventory_publisher is None:
            raise ConfigError(f"channel {connection_id!r} ({connection.system}) cannot receive quantities")

    def policy_history(self, limit: int = 20) -> list[PolicyVersion]:
        """Policy versions, newest first."""
        with client_scope(self.client_id):
            return self.store.inventory_policy_history(limit)

    def set_on_hand(self, sku: str, quantity: int, location: str | None = None) -> None:
        """Record an operator's on-hand count (for WMS-less clients and the demo), audited.

        Raises:
            ValueError: a negative quantity or an empty SKU.
        """
        if quantity < 0 or not sku.strip():
            raise ValueError("on hand needs a SKU and a quantity ≥ 0")
        now = self.clock()
        with client_scope(self.client_id):
            self.store.record_facts([OnHandSnapshot(sku, location, quantity, now)], now)
            detail = {"sku": sku, "location": location, "on_hand": quantity}
            self.store.append_audit(self.actor, "inventory.on_hand.set", f"sku:{sku}", detail, now)

    def preview(self, skus: Sequence[str] | None = None, channel: str | None = None) -> list[PreviewLine]:
        """What each channel would get now and why (a dry run: nothing is sent or stored)."""
        current = self.policy()
        policy: AllocationPolicy = policy_from_document(current.document)
        with client_scope(self.client_id):
            wanted = set(skus) if skus else {p.sku for p in self.store.stock_positions()} | set(policy.bundles)
            needed = sorted(skus_needed(wanted, policy))
            positions = self.store.stock_positions(needed)
            held = self.store.channel_positions(sorted(set(needed) | wanted))
            listings = self.store.channel_listings(sorted(wanted))
        sold = {(item.sku, item.connection_id): item.sold for item in held}
        listed = {
            (item.sku, item.connection_id): item.expected_now(sold.get((item.sku, item.connection_id), 0))
            for item in listings
        }
        allocations: list[SkuAllocation] = allocate(wanted, positions, policy, held)
        return [
            PreviewLine(a.sku, c.connection_id, c.quantity, listed.get((a.sku, c.connection_id)), a.why + c.why)
            for a in allocations
            for c in a.channels
            if channel is None or c.connection_id == channel
        ]


def publisher_env(settings: Settings, store: Store, db: DbExecutor) -> FlowEnv:
    """What the outbox publisher needs: connections, vendor clients and their shared rate budgets."""
    from tradewire.services.processes import retry_policy

    return FlowEnv(
        store=store,
        db=db,
        connections=ConnectionCache(store, SecretBox(settings.secret_key.get_secret_value())),
        retry=retry_policy(settings),
        clock=utcnow,
        max_inline_budget_wait=settings.worker.budget_wait_inline_seconds,
    )


async def publish_now(
    settings: Settings, store: Store, client_id: str, progress: Progress | None = None
) -> PublishReport:
    """Drain the client's outbox now (what the scheduler does every tick), with progress."""
    db = DbExecutor(threads=1)
    env = publisher_env(settings, store, db)
    try:
        with client_scope(client_id):
            return await OutboxPublisher(env).drain(progress)
    finally:
        await env.aclose()
        db.shutdown()
