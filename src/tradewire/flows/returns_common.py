"""What the return flows share: reading and saving RMAs, finding the order, building what sinks get.

An RMA is saved by recording an ``RmaSnapshot`` fact (committed with the run's transition); the
runs that change one RMA share its ordering key, so they never race. Every step's output holds
the RMA as it left the step (``{"rma": …}``); the next step continues from the newest version.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradewire.canonical import ExternalRef, Order, Return, ReturnLine, canonical_id
from tradewire.errors import PermanentError
from tradewire.flows.context import StepContext
from tradewire.returns.model import Rma
from tradewire.runtime.store.port_facts import StoredObject
from tradewire.runtime.store.port_returns import RmaSnapshot

ERP_ROUTE = "erp"


async def stored_rma(ctx: StepContext, rma_id: str) -> Rma | None:
    """The RMA as stored, or None."""
    stored = await ctx.env.db.call(ctx.env.store.get_rma, rma_id)
    return Rma.model_validate(stored.body) if stored is not None else None


def save_rma(ctx: StepContext, rma: Rma) -> dict[str, Any]:
    """Record the RMA's new version (committed with the run) and return it as a step output."""
    body = rma.model_dump(mode="json")
    ctx.record(RmaSnapshot(rma.id, rma.order_id, rma.state.value, rma.version, body))
    ctx.memo["rma"] = rma
    return {"rma": body}


def current_rma(ctx: StepContext) -> Rma:
    """The newest RMA this run holds (from this execution, else the checkpointed step outputs).

    Raises:
        PermanentError: no earlier step produced an RMA (a flow wiring mistake).
    """
    cached = ctx.memo.get("rma")
    if isinstance(cached, Rma):
        return cached
    found = [Rma.model_validate(out["rma"]) for out in ctx.outputs.values() if isinstance(out, dict) and out.get("rma")]
    if not found:
        raise PermanentError(f"run {ctx.claimed.run.id} has no RMA from an earlier step")
    newest = max(found, key=lambda rma: rma.version)
    ctx.memo["rma"] = newest
    return newest


async def order_of(ctx: StepContext, order_id: str) -> Order:
    """The canonical order (its newest snapshot).

    Raises:
        PermanentError: the order was never seen (its snapshot is missing).
    """
    stored = await ctx.env.db.call(ctx.env.store.get_object, "order", order_id)
    if stored is None:
        raise PermanentError(f"order {order_id} has no stored snapshot; replay its order flow first")
    return Order.model_validate(stored.body)


async def find_order(ctx: StepContext, number: str, external_id: str | None) -> StoredObject | None:
    """The order a return names, by number (``#1001``) and, when several match, by channel id."""
    found = await ctx.env.db.call(ctx.env.store.find_objects, "order", number)
    if not found and not number.startswith("#"):
        found = await ctx.env.db.call(ctx.env.store.find_objects, "order", f"#{number}")
    if external_id:
        exact = [o for o in found if str(o.body.get("source", {}).get("external_id")) == str(external_id)]
        found = exact or found
    return found[0] if found else None


def rma_as_return(rma: Rma, order: Order) -> Return:
    """The RMA as sinks get it: lines that came back, their refund, matched to the order's lines.

    Raises:
        PermanentError: nothing came back (no line to refund or credit).
    """
    by_id = {line.line_id: line for line in order.lines}
    by_sku = {line.sku: line for line in order.lines if line.sku}
    lines = []
    for line in rma.lines:
        quantity = line.expected if line.received is None else line.received
        if quantity <= 0:
            continue
        target = by_id.get(line.order_line_id or "") or by_sku.get(line.sku or "")
        lines.append(
            ReturnLine(
                line_id=line.line_id,
                sku=line.sku,
                title=line.title,
                quantity=quantity,
                order_line_id=target.line_id if target else line.order_line_id,
                refund_amount=line.refund_due(),
                disposition=line.disposition,
            )
        )
    if not lines:
        raise PermanentError(f"return {rma.number or rma.id}: no units came back; nothing to refund or credit")
    return Return(
        id=rma.id,
        client_id=rma.client_id,
        source=ExternalRef(
            system=rma.source_system,
            connection_id=rma.source_connection_id,
            object="return",
            external_id=rma.source_external_id,
        ),
        number=rma.number,
        order_number=rma.order_number,
        order_external_id=order.source.external_id,
        status=rma.state,
        outcome=rma.outcome,
        created_at=rma.created_at,
        updated_at=rma.updated_at,
        currency=rma.currency,
        lines=lines,
        refund_total=sum((line.refund_amount for line in lines), Decimal(0)),
    )


def product_id(client_id: str, sku: str) -> str:
    """The canonical id of the product with ``sku`` (as the order flows bind it)."""
    return canonical_id(client_id, "product", f"sku:{sku}")


async def item_refs(ctx: StepContext, erp_id: str, skus: list[str]) -> dict[str, str]:
    """ERP item ids of ``skus``: bindings first, then one lookup for the rest.

    Raises:
        PermanentError: a SKU is not an item in the ERP.
    """
    ids = {sku: product_id(ctx.client_id, sku) for sku in sorted(set(skus))}
    products = ctx.binder(erp_id, "product")
    bound = await products.external_ids(list(ids.values()))
    refs = {sku: bound[cid] for sku, cid in ids.items() if cid in bound}
    unknown = [sku for sku in ids if sku not in refs]
    if unknown:
        sink = await ctx.order_sink(erp_id)
        for sku, ref in (await sink.resolve_items(unknown)).items():
            refs[sku] = ref
            products.bind(ref, ids[sku])
        still = [sku for sku in unknown if sku not in refs]
        if still:
            raise PermanentError(
                f"SKU {', '.join(still)} not found in the ERP (connection {erp_id}); create it, then replay"
            )
    return refs
