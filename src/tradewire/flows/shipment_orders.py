"""Finding the canonical order a shipment belongs to, and what already shipped of it.

A shipment names its order the way its sender knows it: an ERP's sales order id (NetSuite
``createdFrom``, bound when ``order_to_erp`` exported the order), the canonical order id
(ShipStation's ``orderKey``), or the channel's order number (``otherRefNum``,
``externalDocumentNumber``, ``orderNumber``). Each is tried in turn; the order itself is the
snapshot ``map_order`` stored (``store.get_object("order", id)``).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable

from tradewire.canonical import Order, Shipment
from tradewire.flows.context import StepContext
from tradewire.runtime.store.port import TimelineEvent

CONFIRMED = "shipment.confirmed"


def candidates(shipment: Shipment) -> list[str]:
    """The references a shipment gives for its order, most specific first (no repeats).

    A canonical id written without dashes (Business Central's ``externalDocumentNumber``) is
    also tried in its usual form.
    """
    seen: list[str] = []
    for value in (shipment.order_external_id, shipment.order_number):
        if not value:
            continue
        forms = [value]
        if len(value) == 32:
            with contextlib.suppress(ValueError):
                forms.append(str(uuid.UUID(hex=value)))
        seen.extend(form for form in forms if form not in seen)
    return seen


async def find_order(ctx: StepContext, shipment: Shipment) -> Order | None:
    """The canonical order ``shipment`` ships, or None when nothing known matches (or it is ambiguous)."""
    store, db = ctx.env.store, ctx.env.db
    for ref in candidates(shipment):
        stored = await db.call(store.get_object, "order", ref)
        if stored is None:
            binding = await db.call(store.get_binding, shipment.source.connection_id, "order", ref)
            if binding is not None:
                stored = await db.call(store.get_object, "order", binding.canonical_id)
        if stored is None:
            named = await db.call(store.find_objects, "order", ref, 2)
            stored = named[0] if len(named) == 1 else None
        if stored is not None:
            return Order.model_validate(stored.body)
    return None


def shipped_so_far(events: Iterable[TimelineEvent]) -> tuple[dict[str, int], set[str]]:
    """Order line id → quantity confirmed on the channel, and the shipment ids confirmed, from the timeline."""
    shipped: dict[str, int] = {}
    shipments: set[str] = set()
    for event in events:
        shipment_id = event.detail.get("shipment_id")
        if event.event != CONFIRMED or not isinstance(shipment_id, str) or shipment_id in shipments:
            continue
        shipments.add(shipment_id)
        for line in event.detail.get("lines") or []:
            line_id, quantity = line.get("order_line_id"), line.get("quantity")
            if isinstance(line_id, str) and isinstance(quantity, int):
                shipped[line_id] = shipped.get(line_id, 0) + quantity
    return shipped, shipments
