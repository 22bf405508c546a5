"""Flows by name, and which flows an inbound event starts."""

from __future__ import annotations

from tradewire.flows import (
    customer_to_erp,
    invoice_in_erp,
    order_cancel_to_erp,
    order_to_erp,
    refund_sync,
    return_inspect,
    return_sync,
    shipment_to_channel,
)
from tradewire.flows.engine import Flow
from tradewire.inventory import flows as inventory_flows

FLOWS: dict[str, Flow] = {f.name: f for f in (order_to_erp.FLOW, customer_to_erp.FLOW, order_cancel_to_erp.FLOW)}
FLOWS |= {f.name: f for f in (return_sync.FLOW, return_inspect.FLOW, refund_sync.FLOW, refund_sync.CHILD_FLOW)}
FLOWS |= {f.name: f for f in (shipment_to_channel.FLOW, invoice_in_erp.FLOW)}
FLOWS |= {f.name: f for f in (inventory_flows.RESERVE_FLOW, inventory_flows.SNAPSHOT_FLOW)}

# canonical event → flows it starts (same for every channel that emits the event)
EVENT_ROUTES: dict[str, tuple[str, ...]] = {
    "order.created": (order_to_erp.NAME,),
    "order.updated": (order_to_erp.NAME,),
    "order.cancelled": (order_cancel_to_erp.NAME,),
}
# returns: every return event moves its RMA; channel refunds are matched to returns
EVENT_ROUTES |= dict.fromkeys(return_sync.EVENTS, (return_sync.NAME,))
EVENT_ROUTES |= {"refund.created": (refund_sync.NAME,), "order.refunded": (order_to_erp.NAME, refund_sync.NAME)}
# fulfilment: shipments from ERPs (polled) and 3PLs (polled, or a SHIP_NOTIFY batch that names them)
EVENT_ROUTES |= {
    "shipment.created": (shipment_to_channel.NAME,),
    "shipment.updated": (shipment_to_channel.NAME,),
    "shipment.voided": (shipment_to_channel.NAME,),
    "shipment_batch.notified": (shipment_to_channel.NAME,),
}
# inventory: every order change commits or releases stock (a refund of unshipped units releases it too);
# on-hand figures from ERPs and warehouses are snapshots
for _event in ("order.created", "order.updated", "order.cancelled", "order.refunded"):
    EVENT_ROUTES[_event] += (inventory_flows.RESERVE,)
EVENT_ROUTES["inventory.updated"] = (inventory_flows.SNAPSHOT,)


def flows_for(event_type: str) -> list[Flow]:
    """The flows an event of ``event_type`` starts (empty when none)."""
    return [FLOWS[name] for name in EVENT_ROUTES.get(event_type, ())]


def get_flow(name: str) -> Flow | None:
    """A flow by name."""
    return FLOWS.get(name)
