"""refund_sync: a refund made on the channel (Shopify ``refunds/create``, a polled Walmart PO).

map_refund → match_refund. Our own refunds (their note carries Tradewire's marker) change
nothing. Otherwise the refund is kept (an ``objects`` snapshot labelled with the order id) and
matched to an open RMA of the order: the RMA notes it as refunded by the channel in a
``return_refund`` run on the RMA's ordering key (so it never races the return's own events),
which then books the credit memo once the RMA is inspected — the customer is never refunded
twice. No RMA yet: a ``refund_without_return`` exception; a return arriving later for the
order picks the refund up and resolves it.
"""

from __future__ import annotations

from typing import Any

from tradewire.canonical import Refund, ReturnStatus
from tradewire.connectors.base.returns import marked_return_id
from tradewire.errors import MappingError, SkippableError
from tradewire.flows.context import StepContext
from tradewire.flows.engine import Flow, Step
from tradewire.flows.records import load_records
from tradewire.flows.return_postings import POSTING_STEPS
from tradewire.flows.return_sync import refund_without_return_key
from tradewire.flows.returns_common import save_rma, stored_rma
from tradewire.returns.machine import record_refund
from tradewire.returns.model import RefundOrigin, Rma
from tradewire.runtime.store.port import NewRun
from tradewire.runtime.store.port_facts import ExceptionsResolved, ObjectSnapshot
from tradewire.runtime.store.port_returns import RmaFilter

NAME = "refund_sync"
CHILD = "return_refund"
VERSION = 1
EVENTS = ("refund.created", "order.refunded")


async def map_refund(ctx: StepContext) -> dict[str, Any]:
    """The message's refund in canonical form (channels without one skip)."""
    records = await load_records(ctx, "refund")
    if len(records) != 1 or not isinstance(records[0], Refund):
        raise MappingError(f"run {ctx.claimed.run.id}: expected one refund, got {len(records)} record(s)")
    return records[0].model_dump(mode="json")


async def order_id_of(ctx: StepContext, refund: Refund) -> str | None:
    """The canonical order the refund belongs to (through the channel order's binding)."""
    binding = await ctx.env.db.call(
        ctx.env.store.get_binding, refund.source.connection_id, "order", refund.order_external_id
    )
    return binding.canonical_id if binding is not None else None


async def match_refund(ctx: StepContext) -> dict[str, Any]:
    """Attach the refund to its return, or open ``refund_without_return``."""
    refund = Refund.model_validate(ctx.outputs["map_refund"])
    ours = marked_return_id(refund.note)
    if ours is not None:
        raise SkippableError(f"refund {refund.source.external_id} is Tradewire's own refund of return {ours}")
    order_id = await order_id_of(ctx, refund)
    taken = await ctx.env.db.call(
        ctx.env.store.get_binding, refund.source.connection_id, "refund", refund.source.external_id
    )
    if taken is not None:
        return {"refund_id": refund.id, "rma_id": taken.canonical_id, "matched": True}
    candidates: list[Rma] = []
    if order_id is not None:
        rows = await ctx.env.db.call(ctx.env.store.list_rmas, RmaFilter(order_id=order_id))
        candidates = [Rma.model_validate(r.body) for r in rows]
        candidates = [r for r in candidates if r.refund_ref is None and r.state is not ReturnStatus.CANCELLED]
    if candidates:
        rma = min(candidates, key=lambda r: r.created_at)
        ctx.need(
            NewRun(
                flow=CHILD, flow_version=VERSION, ordering_key=rma.ordering_key,
                input={"rma_id": rma.id, "refund": refund.model_dump(mode="json")}, dedupe_key=f"refund:{refund.id}",
            )
        )  # fmt: skip
    key = order_id or f"{refund.source.connection_id}:{refund.order_external_id}"
    ctx.record(ObjectSnapshot("refund", refund.id, key, refund.created_at.isoformat(), refund.model_dump(mode="json")))
    label = refund.order_number or refund.order_external_id
    ctx.open_exception(
        refund_without_return_key(refund.id), "refund_without_return", "order", order_id or refund.order_external_id,
        f"{refund.source.system} refunded {refund.amount} {refund.currency} on order {label} but no return is "
        "known for it: create the return (e.g. in Loop) so the credit memo can be booked, or resolve this if none "
        "is needed",
        refund=refund.source.external_id, amount=format(refund.amount, "f"), currency=refund.currency,
    )  # fmt: skip
    if order_id is not None:
        ctx.event("order", order_id, "order.refunded_on_channel", system=refund.source.system,
                  connection_id=refund.source.connection_id, external_id=refund.source.external_id,
                  amount=format(refund.amount, "f"))  # fmt: skip
    return {"refund_id": refund.id, "rma_id": None, "matched": False}


async def attach_refund(ctx: StepContext) -> dict[str, Any]:
    """(``return_refund``) Note the channel's refund on the RMA; a second, different refund is an error."""
    data = ctx.claimed.run.input or {}
    refund = Refund.model_validate(data.get("refund"))
    rma = await stored_rma(ctx, str(data.get("rma_id")))
    if rma is None:
        raise MappingError(f"return {data.get('rma_id')} does not exist")
    change = record_refund(rma, refund.source.external_id, RefundOrigin.CHANNEL, refund.amount, ctx.now())
    ctx.record(
        ObjectSnapshot("refund", refund.id, rma.order_id, refund.created_at.isoformat(), refund.model_dump(mode="json"))
    )
    if not change.changed:
        return {"rma": rma.model_dump(mode="json")}
    ctx.bind(rma.channel_connection_id, "refund", refund.source.external_id, rma.id)
    healed = [refund_without_return_key(refund.id), f"refund_not_supported:{rma.id}"]
    ctx.record(ExceptionsResolved(healed, f"refund {refund.source.external_id} matched return {rma.number}"))
    ctx.event("return", rma.id, "return.refunded_on_channel", system=refund.source.system,
              connection_id=refund.source.connection_id, external_id=refund.source.external_id,
              amount=format(refund.amount, "f"))  # fmt: skip
    return save_rma(ctx, change.rma)


FLOW = Flow(
    name=NAME,
    version=VERSION,
    description="Channel refund → matched to its return (credit memo follows) or an exception",
    steps=(Step("map_refund", map_refund), Step("match_refund", match_refund)),
)

CHILD_FLOW = Flow(
    name=CHILD,
    version=VERSION,
    description="Channel refund noted on its RMA → credit memo once inspected",
    steps=(Step("attach_refund", attach_refund), *POSTING_STEPS),
)
