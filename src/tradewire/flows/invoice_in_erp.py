"""invoice_in_erp: a fully shipped order is invoiced in the ERP, once.

Queued by ``shipment_to_channel`` when an order's last line ships and its channel connection
says ``settings.invoicing: on_fulfilment`` (input ``{"order_id": …}``). The ERP is the channel's
``settings.routes.erp``; the invoice goes through its ``SPEC.invoice_sink`` (NetSuite
``salesOrder/{id}/!transform/invoice``, Business Central ``shipAndInvoice``) and is bound as
``(erp, "invoice", invoice id, order id)``, which is checked first: an invoiced order is never
invoiced twice.
"""

from __future__ import annotations

from typing import Any

from tradewire.canonical import Order
from tradewire.errors import PermanentError, RetryableError
from tradewire.flows.context import StepContext
from tradewire.flows.engine import Flow, Step
from tradewire.flows.orders import ERP_ROUTE

NAME = "invoice_in_erp"
VERSION = 1


async def invoice_order(ctx: StepContext) -> dict[str, Any]:
    """Invoice the order's ERP sales order (binding checked first) and note it on the timeline.

    Raises:
        PermanentError: no order id in the input, or no stored order.
        RetryableError: the order has not reached the ERP yet.
    """
    order_id = (ctx.claimed.run.input or {}).get("order_id")
    if not isinstance(order_id, str):
        raise PermanentError(f"run {ctx.claimed.run.id} has no order_id input")
    stored = await ctx.env.db.call(ctx.env.store.get_object, "order", order_id)
    if stored is None:
        raise PermanentError(f"order {order_id} is not known to Tradewire; nothing to invoice")
    order = Order.model_validate(stored.body)
    channel = await ctx.connection(order.source.connection_id)
    erp_id = channel.route(ERP_ROUTE)
    invoices = ctx.binder(erp_id, "invoice")
    known = await invoices.external_id(order.id)
    if known is not None:
        return {"invoice_ref": known, "created": False}
    sales_order = await ctx.binder(erp_id, "order").external_id(order.id)
    if sales_order is None:
        raise RetryableError(f"order {order.number} is not in the ERP yet; the invoice waits for its export")
    sink = await ctx.vendor(erp_id, "invoice_sink")
    ref = await sink.invoice_order(order, sales_order_ref=sales_order)
    invoices.bind(ref, order.id)
    ctx.event("order", order.id, "order.invoiced", system="erp", connection_id=erp_id, external_id=ref,
              sales_order=sales_order, number=order.number)  # fmt: skip
    return {"invoice_ref": ref, "created": True}


FLOW = Flow(
    name=NAME,
    version=VERSION,
    description="Fully shipped order → ERP invoice (when the channel connection asks for it)",
    steps=(Step("invoice_order", invoice_order),),
)
