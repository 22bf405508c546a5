"""Flows by name, and which flows an inbound event starts."""

from __future__ import annotations

from tradewire.flows import customer_to_erp, order_cancel_to_erp, order_to_erp
from tradewire.flows.engine import Flow
from tradewire.inventory import flows as inventory_flows

FLOWS: dict[str, Flow] = {f.name: f for f in (order_to_erp.FLOW, customer_to_erp.FLOW, order_cancel_to_erp.FLOW)}
FLOWS |= {f.name: f for f in (inventory_flows.RESERVE_FLOW, inventory_flows.SNAPSHOT_FLOW)}

# canonical event → flows it starts (same for every channel that emits the event)
EVENT_ROUTES: dict[str, tuple[str, ...]] = {
    "order.created": (order_to_erp.NAME,),
    "order.updated": (order_to_erp.NAME,),
    "order.cancelled": (order_cancel_to_erp.NAME,),
}
EVENT_ROUTES["order.created"] += (inventory_flows.RESERVE,)
EVENT_ROUTES["order.updated"] += (inventory_flows.RESERVE,)
EVENT_ROUTES["order.cancelled"] += (inventory_flows.RESERVE,)
EVENT_ROUTES["inventory.updated"] = (inventory_flows.SNAPSHOT,)


def flows_for(event_type: str) -> list[Flow]:
    """The flows an event of ``event_type`` starts (empty when none)."""
    return [FLOWS[name] for name in EVENT_ROUTES.get(event_type, ())]


def get_flow(name: str) -> Flow | None:
    """A flow by name."""
    return FLOWS.get(name)
