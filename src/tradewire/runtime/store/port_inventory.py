"""The inventory ledger's records: facts the flows commit, and what the engine reads back.

A **position** is one (client, SKU, location) row: the last on-hand figure the ERP/WMS reported
(with its ``as_of``), the ship/restock movements recorded after that figure (``adjust``), and
the units committed to open orders. Writers keep it current in the transaction that records the
movement, so reading availability costs one row per SKU and location, never a ledger scan.

Every change marks its SKU **dirty**; the publisher reads dirty SKUs, computes what each
channel should list, sends what changed and clears the marks it handled (see
``docs/inventory.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

DEFAULT_LOCATION = ""
"""How the ledger stores "no location" (orders and single-location accounts)."""


@dataclass(frozen=True)
class OrderCommitment:
    """Fact: an order's open quantities per SKU as of ``version`` (empty when cancelled).

    The writer compares them with the quantities committed for the order so far and records
    COMMIT / RELEASE movements for the differences. A version at or before the stored one is
    ignored, so a replay changes nothing and a late, older update never undoes a newer one.

    Attributes:
        order_id: the canonical order id.
        connection_id: the channel connection the order came from.
        version: sortable version (the order's ISO-8601 UTC change time).
        lines: SKU → open units (summed over the order's lines).
    """

    order_id: str
    connection_id: str | None
    version: str
    lines: dict[str, int]


@dataclass(frozen=True)
class OnHandSnapshot:
    """Fact: the ERP/WMS says ``on_hand`` units of ``sku`` are at ``location`` as of ``as_of``.

    Applied only when newer than the stored figure; ship/restock movements recorded after
    ``as_of`` keep counting on top of it (they are not in the figure yet).
    """

    sku: str
    location: str | None
    on_hand: int
    as_of: datetime


@dataclass(frozen=True)
class StockPosition:
    """One ledger row. ``physical`` is on hand now: the snapshot plus later movements."""

    sku: str
    location: str
    on_hand: int
    on_hand_as_of: datetime | None
    adjust: int
    committed: int
    updated_at: datetime

    @property
    def physical(self) -> int:
        """Units on the shelf now (never negative)."""
        return max(0, self.on_hand + self.adjust)


@dataclass(frozen=True)
class ChannelPosition:
    """A SKU's units held by one channel's orders: ``open`` (not shipped yet), ``sold`` (ever, monotonic).

    Channels decrement their own listing on each sale, so the engine expects a channel to show
    ``published − (sold now − sold at publication)`` and calls it only when its target differs.
    """

    sku: str
    connection_id: str
    open: int
    sold: int


@dataclass(frozen=True)
class DirtySku:
    """A SKU whose channel quantities may have changed since ``changed_at`` (``seq`` fences the clear)."""

    sku: str
    seq: int
    changed_at: datetime


@dataclass(frozen=True)
class ChannelListing:
    """The quantity last published for a SKU on a channel, and the policy version that produced it."""

    sku: str
    connection_id: str
    quantity: int
    policy_version: int
    published_at: datetime
    sold_at_publish: int = 0
    """The channel's ``sold`` counter when this quantity was computed."""

    def expected_now(self, sold: int) -> int:
        """What the channel shows now, having decremented its listing for each sale since."""
        return max(0, self.quantity - max(0, sold - self.sold_at_publish))


@dataclass(frozen=True)
class Publication:
    """One quantity sent to a channel (accepted or refused), for the listings and the publication log."""

    sku: str
    connection_id: str
    quantity: int
    policy_version: int
    accepted: bool
    error: str | None = None
    changed_at: datetime | None = None
    """When the SKU first changed since its last publication (for change → channel latency)."""
    published_at: datetime | None = None
    sold_at_publish: int = 0


@dataclass(frozen=True)
class PolicyVersion:
    """One applied version of a client's allocation policy document."""

    version: int
    document: dict[str, Any]
    actor: str
    created_at: datetime
    detail: dict[str, Any] = field(default_factory=dict)
