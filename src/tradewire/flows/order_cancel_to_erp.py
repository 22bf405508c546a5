"""order_cancel_to_erp: a channel cancellation cancels the ERP sales order, never an orphan.

It shares the order's ordering key, so it runs after the order's create. If the create has
not reached the ERP yet (the channel delivered the cancellation first), it waits and
retries; it never creates anything.
"""

from __future__ import annotations

from typing import Any

from tradewire.errors import RetryableError, SkippableError
from tradewire.flows.context import StepContext
from tradewire.flows.engine import Flow, Step
from tradewire.flows.orders import erp_connection_id, load_order, map_order, sales_order_ref

NAME = "order_cancel_to_erp"
VERSION = 1


async def find_sales_order(ctx: StepContext) -> dict[str, Any]:
    """The ERP sales order to cancel; waits while the create has not been exported yet."""
    order = load_order(ctx)
    erp_id = await erp_connection_id(ctx)
    ref = await sales_order_ref(ctx, order, erp_id)
    if ref is not None:
        return {"erp_connection_id": erp_id, "sales_order_ref": ref}
    events = {e.event for e in await ctx.timeline("order", order.id)}
    if "order.export_skipped" in events:
        raise SkippableError(f"order {order.number} was never created in the ERP; nothing to cancel")
    raise RetryableError(
        f"order {order.number} is not in the ERP yet; the cancellation waits for its create "
        "(if the create is a dead letter, replay it first)"
    )


async def cancel_sales_order(ctx: StepContext) -> dict[str, Any]:
    """Cancel the sales order (idempotent) and note it on the timeline."""
    order = load_order(ctx)
    found = ctx.outputs["find_sales_order"]
    sink = await ctx.order_sink(found["erp_connection_id"])
    await sink.cancel_sales_order(order, sales_order_ref=found["sales_order_ref"])
    ctx.event(
        "order",
        order.id,
        "order.cancelled_in_erp",
        system="erp",
        connection_id=found["erp_connection_id"],
        external_id=found["sales_order_ref"],
        reason=order.cancel_reason,
    )
    return {"cancelled": found["sales_order_ref"]}


FLOW = Flow(
    name=NAME,
    version=VERSION,
    description="Channel cancellation → ERP sales order cancelled",
    steps=(
        Step("map_order", map_order),
        Step("find_sales_order", find_sales_order),
        Step("cancel_sales_order", cancel_sales_order),
    ),
)
