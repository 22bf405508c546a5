"""The ledger's two flows: commitments from orders, on-hand figures from the ERP/WMS.

``inventory_reserve`` runs for ``order.created``, ``order.updated`` and ``order.cancelled`` with the
order's ordering key (after the order's earlier events). It records the order's open units
(bundles as their components, per the client's policy) as
one :class:`OrderCommitment` fact; the store turns the difference with what the order held into
COMMIT/RELEASE movements in the run's transaction, keyed by order, SKU and order version, so a
retry or replay commits nothing twice and an older version never undoes a newer one.

``inventory_snapshot`` runs for ``inventory.updated`` messages (a WMS webhook, an ERP on-hand poll):
each canonical :class:`InventoryLevel` becomes an :class:`OnHandSnapshot` fact.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tradewire.canonical import InventoryLevel, Order
from tradewire.canonical.order import OrderStatus
from tradewire.errors import MappingError
from tradewire.flows.context import StepContext
from tradewire.flows.engine import Flow, Step
from tradewire.flows.orders import load_order, map_order_read_by_export, order_version
from tradewire.flows.records import load_records
from tradewire.inventory.policy import policy_from_document
from tradewire.runtime.store.port_inventory import OnHandSnapshot, OrderCommitment

RESERVE = "inventory_reserve"
CANCELLED_SUFFIX = "~cancelled"
SNAPSHOT = "inventory_snapshot"


def open_lines(order: Order) -> dict[str, int]:
    """SKU → units the order holds (none once cancelled; lines without a SKU hold nothing)."""
    if order.status is OrderStatus.CANCELLED:
        return {}
    lines: dict[str, int] = {}
    for line in order.lines:
        if line.sku:
            lines[line.sku] = lines.get(line.sku, 0) + line.quantity
    return lines


def explode_bundles(lines: dict[str, int], bundles: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    """Bundle lines as the component units they hold (a kit holds its parts, not a SKU of its own)."""
    out: dict[str, int] = {}
    for sku, units in lines.items():
        for part, per_bundle in (bundles.get(sku) or {sku: 1}).items():
            out[part] = out.get(part, 0) + units * per_bundle
    return out


async def reserve(ctx: StepContext) -> dict[str, Any]:
    """Record the order's open units (the store commits or releases the difference)."""
    order = load_order(ctx)
    stored = await ctx.env.db.call(ctx.env.store.get_inventory_policy)
    bundles = policy_from_document(stored.document).bundles if stored is not None else {}
    lines = explode_bundles(open_lines(order), bundles)
    version = order_version(order)
    if ctx.claimed.topic == "order.cancelled" or order.status is OrderStatus.CANCELLED:
        lines = {}
        # A cancellation is final: it sorts after any update of the same time (``…~cancelled`` > ``…``).
        version = max(version, order.cancelled_at.isoformat() if order.cancelled_at else "") + CANCELLED_SUFFIX
    ctx.record(OrderCommitment(order.id, order.source.connection_id, version, lines))
    return {"order_id": order.id, "version": version, "lines": lines}


async def record_on_hand(ctx: StepContext) -> dict[str, Any]:
    """Record each on-hand figure the message carries (older figures are ignored by the store)."""
    records = await load_records(ctx, "inventory")
    figures: list[dict[str, Any]] = []
    for record in records:
        if not isinstance(record, InventoryLevel):
            raise MappingError(f"the inventory source gave a {type(record).__name__}, not an InventoryLevel")
        on_hand = record.on_hand if record.on_hand is not None else record.available
        ctx.record(OnHandSnapshot(record.sku, record.location, on_hand, record.as_of))
        figures.append({"sku": record.sku, "location": record.location, "on_hand": on_hand})
    return {"figures": figures}


RESERVE_FLOW = Flow(
    name=RESERVE,
    version=1,
    description="Channel order → inventory commitments (commit, adjust, release)",
    steps=(Step("map_order", map_order_read_by_export), Step("reserve", reserve)),
    ordering_lane="inventory",
)

SNAPSHOT_FLOW = Flow(
    name=SNAPSHOT,
    version=1,
    description="ERP/WMS on-hand figures → inventory ledger",
    steps=(Step("record_on_hand", record_on_hand),),
)
