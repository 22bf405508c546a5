"""The postings an inspected RMA owes, as steps any return flow ends with.

``post_refund`` refunds the customer on the order's channel (``SPEC.refund_sink``) unless the
channel already refunded; ``post_credit_memo`` books the credit in the ERP the channel routes to
(``SPEC.credit_memo_sink``); ``finish`` closes the RMA once nothing is owed. Each posting checks
its binding first, calls a sink that is idempotent by the return's id, then binds the document
(``refund`` in the channel connection, ``credit_memo`` in the ERP connection) with the RMA's new
version, so a retried or replayed run never posts twice.
"""

from __future__ import annotations

from typing import Any

from tradewire.errors import ConfigError, RetryableError
from tradewire.flows.context import StepContext
from tradewire.flows.engine import Step
from tradewire.flows.returns_common import ERP_ROUTE, current_rma, item_refs, order_of, rma_as_return, save_rma
from tradewire.returns.machine import Posting, close, due_postings, record_credit_memo, record_refund
from tradewire.returns.model import RefundOrigin


async def post_refund(ctx: StepContext) -> dict[str, Any]:
    """Refund the customer on the channel when the RMA owes it (once)."""
    rma = current_rma(ctx)
    if Posting.REFUND not in due_postings(rma):
        return {"rma": rma.model_dump(mode="json"), "refund": "not due"}
    channel_id = rma.channel_connection_id
    refunds = ctx.binder(channel_id, "refund")
    ref = await refunds.external_id(rma.id)
    order = await order_of(ctx, rma.order_id)
    ret = rma_as_return(rma, order)
    if ref is None:
        try:
            sink = await ctx.vendor(channel_id, "refund_sink")
        except ConfigError as exc:
            ctx.open_exception(
                f"refund_not_supported:{rma.id}", "refund_not_supported", "return", rma.id,
                f"return {rma.number or rma.id} is inspected but {exc}; refund the customer on the channel by hand",
                order_number=rma.order_number,
            )  # fmt: skip
            raise
        ref = await sink.refund(ret, order=order, order_ref=order.source.external_id)
        refunds.bind(ref, rma.id)
    rma = record_refund(rma, ref, RefundOrigin.TRADEWIRE, ret.refund_total, ctx.now()).rma
    channel = await ctx.connection(channel_id)
    detail = {"amount": format(ret.refund_total, "f"), "currency": rma.currency}
    ctx.event("return", rma.id, "return.refunded", system=channel.connection.system, connection_id=channel_id,
              external_id=ref, **detail)  # fmt: skip
    ctx.event("order", rma.order_id, "order.refunded", system=channel.connection.system, connection_id=channel_id,
              external_id=ref, rma=rma.number or rma.id, **detail)  # fmt: skip
    return save_rma(ctx, rma) | {"refund": ref}


async def post_credit_memo(ctx: StepContext) -> dict[str, Any]:
    """Book the credit memo in the ERP when the RMA owes it (once, after the refund)."""
    rma = current_rma(ctx)
    if due_postings(rma) != [Posting.CREDIT_MEMO]:
        return {"rma": rma.model_dump(mode="json"), "credit_memo": "not due"}
    channel = await ctx.connection(rma.channel_connection_id)
    erp_id = channel.route(ERP_ROUTE)
    memos = ctx.binder(erp_id, "credit_memo")
    ref = await memos.external_id(rma.id)
    if ref is None:
        order = await order_of(ctx, rma.order_id)
        sales_order_ref = await ctx.binder(erp_id, "order").external_id(order.id)
        if sales_order_ref is None:
            raise RetryableError(
                f"order {order.number} is not in the ERP yet; the credit memo of return {rma.number or rma.id} waits"
            )
        ret = rma_as_return(rma, order)
        refs = await item_refs(ctx, erp_id, [line.sku for line in ret.lines if line.sku])
        sink = await ctx.vendor(erp_id, "credit_memo_sink")
        ref = await sink.credit_memo(ret, order=order, sales_order_ref=sales_order_ref, item_refs=refs)
        memos.bind(ref, rma.id)
    rma = record_credit_memo(rma, ref, ctx.now()).rma
    erp = await ctx.connection(erp_id)
    ctx.event("return", rma.id, "return.credit_memo_booked", system=erp.connection.system, connection_id=erp_id,
              external_id=ref)  # fmt: skip
    ctx.event("order", rma.order_id, "order.credit_memo_booked", system=erp.connection.system, connection_id=erp_id,
              external_id=ref, rma=rma.number or rma.id)  # fmt: skip
    return save_rma(ctx, rma) | {"credit_memo": ref}


async def finish(ctx: StepContext) -> dict[str, Any]:
    """Close the RMA when it is inspected and owes nothing."""
    rma = current_rma(ctx)
    change = close(rma, ctx.now())
    if not change.changed:
        return {"rma": rma.model_dump(mode="json"), "closed": False}
    ctx.event("return", rma.id, "return.closed")
    return save_rma(ctx, change.rma) | {"closed": True}


POSTING_STEPS = (Step("post_refund", post_refund), Step("post_credit_memo", post_credit_memo), Step("finish", finish))
"""The steps every return flow ends with, in order."""
