"""Publication: drain the dirty-SKU outbox to every channel, coalesced and within rate budgets.

Every ledger change marks its SKU dirty (in the transaction that changed it). The scheduler's
leader runs :meth:`OutboxPublisher.tick` every tick (1 s by default): for each client it takes
the oldest dirty SKUs, computes what each channel should list (:mod:`.allocation`), and sends
only quantities that differ from the channel's current listing. A hundred orders of one SKU
between two ticks cost one call per channel: the latest value wins.

Calls go through the channel's ``inventory_publisher`` (SPEC) in batches of its ``max_batch``,
through the connection's shared rate budget. A batch that runs out of budget or fails with a
retryable error stops that channel until the next tick (its SKUs stay dirty); an auth failure
pauses the connection; a SKU the channel refuses is logged with the vendor's reason and not
retried until it changes again. Every quantity sent is recorded with the policy version that
produced it; a SKU's mark is cleared only when every channel took its quantity, and only if no
newer change arrived meanwhile (``seq``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tradewire.canonical import InventoryLevel
from tradewire.errors import AuthError, ConfigError, ConnectionPaused, NotFound, RetryableError, TradewireError
from tradewire.flows.context import FlowEnv
from tradewire.inventory.allocation import SkuAllocation, affected_skus, allocate, skus_needed
from tradewire.inventory.policy import AllocationPolicy, policy_from_document
from tradewire.runtime.store.port_inventory import ChannelListing, DirtySku, Publication
from tradewire.tenancy.context import client_scope, require_client

log = logging.getLogger("tradewire.inventory")

Progress = Callable[[int, int], None]
"""Called with (quantities sent so far, quantities to send)."""


@dataclass
class PublishReport:
    """What one drain did."""

    skus: int = 0
    sent: int = 0
    refused: int = 0
    unchanged: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    deferred: dict[str, str] = field(default_factory=dict)
    """Channel connection → why its quantities wait for the next tick."""
    latencies: list[float] = field(default_factory=list)
    """Seconds from each SKU's first change to its accepted publication."""
    answered: set[tuple[str, str]] = field(default_factory=set)
    """(SKU, channel) pairs the channel answered (accepted or refused) in this drain."""

    def as_dict(self) -> dict[str, int]:
        """Counters for the scheduler's log."""
        return {
            "skus": self.skus,
            "sent": self.sent,
            "refused": self.refused,
            "unchanged": self.unchanged,
            "deferred": len(self.deferred),
        }


@dataclass(frozen=True)
class Change:
    """One quantity to send: a SKU on a channel."""

    sku: str
    quantity: int
    changed_at: datetime | None
    sold: int = 0
    """The channel's sold counter for the SKU when the quantity was computed."""


def pending_changes(
    allocations: Sequence[SkuAllocation],
    listed: Mapping[tuple[str, str], ChannelListing],
    sold: Mapping[tuple[str, str], int],
    changed_at: Mapping[str, datetime],
) -> dict[str, list[Change]]:
    """Channel → quantities that differ from what it shows now (or that it never got).

    A channel lowers its own listing on each sale, so after a sale it already shows
    ``published − sold since``; when that is the target, no call is needed (and none is made,
    which also keeps an absolute set from overwriting sales still in flight).
    """
    out: dict[str, list[Change]] = {}
    for allocation in allocations:
        for channel in allocation.channels:
            key = (allocation.sku, channel.connection_id)
            current = listed.get(key)
            sold_now = sold.get(key, 0)
            if current is not None and current.expected_now(sold_now) == channel.quantity:
                continue
            out.setdefault(channel.connection_id, []).append(
                Change(allocation.sku, channel.quantity, changed_at.get(allocation.sku), sold_now)
            )
    return out


class OutboxPublisher:
    """Sends changed channel quantities (one instance per scheduler or CLI run)."""

    def __init__(
        self,
        env: FlowEnv,
        *,
        max_skus: int = 1000,
        open_publisher: Callable[[str], Awaitable[Any]] | None = None,
    ) -> None:
        """``open_publisher`` (connection id → its ``InventoryPublisher``) defaults to the SPEC's."""
        self.env = env
        self.store = env.store
        self.max_skus = max_skus
        self.open_publisher = open_publisher or self._spec_publisher

    async def _spec_publisher(self, connection_id: str) -> Any:
        return await self.env.vendor(connection_id, "inventory_publisher")

    async def tick(self) -> dict[str, int]:
        """Drain every client's outbox once (the scheduler job)."""
        total = PublishReport()
        clients = await self.env.db.call(self.store.list_clients)
        for client_id, _name in clients:
            with client_scope(client_id):
                report = await self.drain()
            total.skus += report.skus
            total.sent += report.sent
            total.refused += report.refused
            total.unchanged += report.unchanged
            total.deferred.update(report.deferred)
        return total.as_dict()

    async def _policy(self) -> tuple[int, AllocationPolicy] | None:
        stored = await self.env.db.call(self.store.get_inventory_policy)
        if stored is None:
            return None
        return stored.version, policy_from_document(stored.document)

    async def drain(self, progress: Progress | None = None) -> PublishReport:
        """Publish this client's dirty SKUs (needs a client context)."""
        report = PublishReport()
        found = await self._policy()
        if found is None:
            return report  # nothing to publish to until a policy names the channels
        version, policy = found
        dirty: list[DirtySku] = await self.env.db.call(self.store.dirty_skus, self.max_skus)
        if not dirty:
            return report
        skus = affected_skus((d.sku for d in dirty), policy)
        needed = sorted(skus_needed(skus, policy))
        positions = await self.env.db.call(self.store.stock_positions, needed)
        held = await self.env.db.call(self.store.channel_positions, sorted(set(needed) | skus))
        allocations = allocate(skus, positions, policy, held)
        listings = await self.env.db.call(self.store.channel_listings, sorted(skus))
        listed = {(item.sku, item.connection_id): item for item in listings}
        sold = {(item.sku, item.connection_id): item.sold for item in held}
        changed_at = {d.sku: d.changed_at for d in dirty}
        for bundle in skus - changed_at.keys():  # a bundle changes when its first-changed component did
            times = [changed_at[c] for c in policy.bundles.get(bundle, {}) if c in changed_at]
            if times:
                changed_at[bundle] = min(times)
        changes = pending_changes(allocations, listed, sold, changed_at)
        report.skus = len(skus)
        report.unchanged = sum(len(a.channels) for a in allocations) - sum(len(v) for v in changes.values())
        todo = sum(len(v) for v in changes.values())
        for connection_id, channel_changes in sorted(changes.items()):
            await self._publish_channel(connection_id, channel_changes, version, report, todo, progress)
        waiting = {
            c.sku for cid in report.deferred for c in changes.get(cid, []) if (c.sku, cid) not in report.answered
        }
        waiting |= {b for sku in waiting for b in policy.bundles_of(sku)}
        waiting |= {c for b in waiting if b in policy.bundles for c in policy.bundles[b]}
        await self.env.db.call(self.store.clear_dirty, [d for d in dirty if d.sku not in waiting])
        return report

    async def _publish_channel(
        self,
        connection_id: str,
        changes: list[Change],
        version: int,
        report: PublishReport,
        todo: int,
        progress: Progress | None,
    ) -> None:
        """Send one channel's changes in batches until done, out of budget, or refused."""
        try:
            publisher: Any = await self.open_publisher(connection_id)
        except (ConnectionPaused, ConfigError, NotFound) as exc:
            report.deferred[connection_id] = str(exc)
            return
        now = self.env.clock()
        client_id = require_client()
        size = max(1, int(publisher.max_batch))
        for start in range(0, len(changes), size):
            batch = changes[start : start + size]
            levels = [InventoryLevel(client_id=client_id, sku=c.sku, available=c.quantity, as_of=now) for c in batch]
            try:
                outcomes = await publisher.publish(levels)
            except AuthError as exc:
                await self.env.db.call(self.env.pause_connection, connection_id, str(exc))
                report.deferred[connection_id] = f"paused: {exc}"
                return
            except RetryableError as exc:
                report.deferred[connection_id] = str(exc)
                return
            except TradewireError as exc:  # the whole batch refused (bad settings…): try again next tick
                log.warning("inventory publication failed", extra={"connection": connection_id, "error": str(exc)})
                report.deferred[connection_id] = str(exc)
                return
            report.calls[connection_id] = report.calls.get(connection_id, 0) + 1
            by_sku = {o.sku: o for o in outcomes}
            sent_at = self.env.clock()
            publications: list[Publication] = []
            for change in batch:
                outcome = by_sku.get(change.sku)
                if outcome is None:  # not sent (the budget ran out mid-batch): it waits for the next tick
                    report.deferred[connection_id] = "rate budget spent mid-batch"
                    continue
                accepted = outcome.accepted
                error = None if accepted else outcome.error
                report.answered.add((change.sku, connection_id))
                publications.append(
                    Publication(
                        change.sku,
                        connection_id,
                        change.quantity,
                        version,
                        accepted,
                        error,
                        change.changed_at,
                        sold_at_publish=change.sold,
                    )
                )
                if accepted:
                    report.sent += 1
                    if change.changed_at is not None:
                        report.latencies.append((sent_at - change.changed_at).total_seconds())
                else:
                    report.refused += 1
                    log.warning(
                        "channel refused a quantity",
                        extra={"connection": connection_id, "sku": change.sku, "error": error},
                    )
            await self.env.db.call(self.store.record_publications, publications, sent_at)
            if progress is not None:
                progress(report.sent + report.refused, todo)
            if connection_id in report.deferred:
                return
