"""return_sync: a return event (Loop webhook or poll) moves its RMA forward, then owed postings run.

map_return (the return as the source says now; thin notices are read whole) → advance_rma (open
the RMA against its order, or apply the update: forward only, late events change nothing) →
post_refund → post_credit_memo → finish. A return of an order Tradewire has not seen opens a
``return_unknown_order`` exception and waits (retries) for the order; it resolves itself when
the order arrives. Refunds the channel already made for the order (recorded by ``refund_sync``)
are attached when the RMA opens.
"""

from __future__ import annotations

from typing import Any

from tradewire.canonical import Refund, Return
from tradewire.errors import MappingError, RetryableError
from tradewire.flows.context import StepContext
from tradewire.flows.engine import Flow, Step
from tradewire.flows.records import load_records
from tradewire.flows.return_postings import POSTING_STEPS
from tradewire.flows.returns_common import find_order, save_rma, stored_rma
from tradewire.returns.machine import IllegalTransition, apply_update, open_rma, record_refund
from tradewire.returns.model import RefundOrigin, Rma
from tradewire.runtime.store.port_facts import ExceptionsResolved

NAME = "return_sync"
VERSION = 1
EVENTS = (
    "return.created",
    "return.updated",
    "return.closed",
    "return.label_created",
    "return.label_updated",
    "return.label_requested",
    "return.label_closed",
    "return.restock_requested",
)


def unknown_order_key(return_id: str) -> str:
    """The exception key of a return whose order is unknown."""
    return f"return_unknown_order:{return_id}"


def refund_without_return_key(refund_id: str) -> str:
    """The exception key of a channel refund no return matches (yet)."""
    return f"refund_without_return:{refund_id}"


async def map_return(ctx: StepContext) -> dict[str, Any]:
    """The message's return in canonical form (read from the source when the message only names it)."""
    records = await load_records(ctx, "return")
    if len(records) != 1 or not isinstance(records[0], Return):
        raise MappingError(f"run {ctx.claimed.run.id}: expected one return, got {len(records)} record(s)")
    return records[0].model_dump(mode="json")


async def advance_rma(ctx: StepContext) -> dict[str, Any]:
    """Open or move the RMA (never backwards); ``ignored`` says why an event changed nothing."""
    ret = Return.model_validate(ctx.outputs["map_return"])
    rma = await stored_rma(ctx, ret.id)
    if rma is None:
        return await _open(ctx, ret)
    try:
        change = apply_update(rma, ret, ctx.now())
    except IllegalTransition as exc:
        ctx.open_exception(f"return_conflict:{rma.id}", "return_conflict", "return", rma.id, str(exc),
                           source_state=ret.status.value, state=rma.state.value)  # fmt: skip
        raise
    if not change.changed:
        return {"rma": rma.model_dump(mode="json"), "ignored": change.ignored}
    moved = change.rma
    if moved.state is not rma.state:
        ctx.event("return", moved.id, f"return.{moved.state.value}", system=moved.source_system,
                  connection_id=moved.source_connection_id, external_id=moved.source_external_id)  # fmt: skip
    return save_rma(ctx, moved)


async def _open(ctx: StepContext, ret: Return) -> dict[str, Any]:
    order = await find_order(ctx, ret.order_number, ret.order_external_id)
    if order is None:
        message = (
            f"return {ret.number or ret.id} ({ret.source.system}) names order {ret.order_number}, which Tradewire "
            "has not received; it is retried until the order arrives (check the channel connection)"
        )
        ctx.open_exception(unknown_order_key(ret.id), "return_unknown_order", "return", ret.id, message,
                           order_number=ret.order_number, source=ret.source.system)  # fmt: skip
        raise RetryableError(message)
    ordering_key = ctx.claimed.run.ordering_key or f"return:{ret.source.connection_id}:{ret.source.external_id}"
    channel_id = str(order.body["source"]["connection_id"])
    rma = open_rma(ret, order_id=order.canonical_id, order_number=order.label or ret.order_number,
                   channel_connection_id=channel_id, ordering_key=ordering_key, now=ctx.now())  # fmt: skip
    ctx.record(ExceptionsResolved([unknown_order_key(ret.id)], f"order {order.label} arrived"))
    ctx.event("return", rma.id, "return.opened", system=ret.source.system, connection_id=ret.source.connection_id,
              external_id=ret.source.external_id, order=rma.order_number, state=rma.state.value)  # fmt: skip
    ctx.event("order", rma.order_id, "order.return_opened", system=ret.source.system,
              connection_id=ret.source.connection_id, external_id=ret.source.external_id, rma=rma.id)  # fmt: skip
    rma = await attach_channel_refunds(ctx, rma)
    return save_rma(ctx, rma)


async def attach_channel_refunds(ctx: StepContext, rma: Rma) -> Rma:
    """Note a refund the channel made for the order before the return arrived (and heal its exception)."""
    stored = await ctx.env.db.call(ctx.env.store.find_objects, "refund", rma.order_id)
    for item in sorted(stored, key=lambda o: o.version):
        refund = Refund.model_validate(item.body)
        taken = await ctx.env.db.call(
            ctx.env.store.get_binding, rma.channel_connection_id, "refund", refund.source.external_id
        )
        if taken is not None and taken.canonical_id != rma.id:
            continue  # another return of the order already matched it
        try:
            change = record_refund(rma, refund.source.external_id, RefundOrigin.CHANNEL, refund.amount, ctx.now())
        except IllegalTransition:
            continue  # already refunded by another refund: that one stays an exception
        if change.changed:
            rma = change.rma
            ctx.bind(rma.channel_connection_id, "refund", refund.source.external_id, rma.id)
            ctx.record(ExceptionsResolved([refund_without_return_key(refund.id)], f"matched return {rma.number}"))
            ctx.event("return", rma.id, "return.refunded_on_channel", system=refund.source.system,
                      connection_id=refund.source.connection_id, external_id=refund.source.external_id)  # fmt: skip
    return rma


FLOW = Flow(
    name=NAME,
    version=VERSION,
    description="Return event → RMA moves forward → refund on the channel → credit memo in the ERP",
    steps=(Step("map_return", map_return), Step("advance_rma", advance_rma), *POSTING_STEPS),
)
