"""order_to_erp: a channel order becomes an ERP sales order, exactly once.

map_order → check_not_cancelled → check_holds (a held order waits: ``flows/holds.py``) →
resolve_customer (a ``customer_to_erp`` dependency run when the customer is not yet in the
ERP) → resolve_items (a SKU problem opens an exception for a person) → upsert_sales_order
(idempotent upsert by external id) → record (bindings, the ``order.exported`` timeline event,
and the order's exceptions resolved).
"""

from __future__ import annotations

from typing import Any

from tradewire.canonical import OrderStatus, canonical_id
from tradewire.errors import PermanentError, SkippableError
from tradewire.flows.context import StepContext
from tradewire.flows.engine import Flow, Step
from tradewire.flows.holds import check_holds
from tradewire.flows.orders import erp_connection_id, load_order, map_order, order_customer, sales_order_ref
from tradewire.runtime.store.port import NewRun
from tradewire.runtime.store.port_facts import ExceptionsResolved

NAME = "order_to_erp"
VERSION = 2
"""2: ``check_holds`` after ``check_not_cancelled`` (version 1 runs run it too when they resume)."""


async def check_not_cancelled(ctx: StepContext) -> dict[str, Any]:
    """A cancelled order that never reached the ERP is not created there (no orphans)."""
    order = load_order(ctx)
    erp_id = await erp_connection_id(ctx)
    # One query for every binding this run reads (order, customer, products), not one per step.
    skus = sorted({line.sku for line in order.lines if line.sku})
    await ctx.prefetch_bindings(
        erp_id,
        {
            "order": [order.id],
            "customer": [order_customer(order).id],
            "product": [product_id(order.client_id, sku) for sku in skus],
        },
    )
    ref = await sales_order_ref(ctx, order, erp_id)
    if order.status is OrderStatus.CANCELLED and ref is None:
        ctx.event("order", order.id, "order.export_skipped", reason="cancelled before it was exported")
        raise SkippableError(f"order {order.number} was cancelled before it reached the ERP; nothing to create")
    if ref is not None and order.updated_at is not None:
        newest = await newest_exported_version(ctx, order.id)
        if newest is not None and order.updated_at.isoformat() < newest:
            raise SkippableError(
                f"order {order.number} changed at {order.updated_at.isoformat()} but the version of {newest} "
                "is already in the ERP; a late, older update does not overwrite it"
            )
    return {"erp_connection_id": erp_id, "sales_order_ref": ref}


async def newest_exported_version(ctx: StepContext, order_id: str) -> str | None:
    """The channel's change time of the newest version exported to the ERP (ISO, UTC)."""
    versions = [
        str(e.detail["source_updated_at"])
        for e in await ctx.timeline("order", order_id)
        if e.event in ("order.exported", "order.updated_in_erp") and e.detail.get("source_updated_at")
    ]
    return max(versions, default=None)


def product_id(client_id: str, sku: str) -> str:
    """The canonical id of the product with ``sku``."""
    return canonical_id(client_id, "product", f"sku:{sku}")


async def resolve_customer(ctx: StepContext) -> dict[str, Any]:
    """The ERP id of the order's customer; asks for a ``customer_to_erp`` run when unknown."""
    order = load_order(ctx)
    erp_id = ctx.outputs["check_not_cancelled"]["erp_connection_id"]
    customer = order_customer(order)
    ref = await ctx.binder(erp_id, "customer").external_id(customer.id)
    if ref is not None:
        return {"customer_id": customer.id, "customer_ref": ref}
    ctx.need(
        NewRun(
            flow="customer_to_erp",
            flow_version=1,
            ordering_key=f"customer:{erp_id}:{customer.id}",
            input={"erp_connection_id": erp_id, "customer": customer.model_dump(mode="json")},
            dedupe_key=f"{erp_id}:{customer.id}",
        )
    )
    raise AssertionError("unreachable")  # pragma: no cover


async def resolve_items(ctx: StepContext) -> dict[str, str]:
    """ERP item ids of the order's SKUs: bindings first, then one lookup for the rest."""
    order = load_order(ctx)
    erp_id = ctx.outputs["check_not_cancelled"]["erp_connection_id"]
    missing_sku = [line.line_id for line in order.lines if not line.sku]
    if missing_sku:
        message = (
            f"order {order.number}: line(s) {', '.join(missing_sku)} have no SKU; add SKUs in the channel and replay"
        )
        ctx.open_exception(
            missing_sku_key(order.id), "missing_sku", "order", order.id, message, number=order.number, lines=missing_sku
        )
        raise PermanentError(message)
    skus = sorted({line.sku for line in order.lines if line.sku})
    ids = {sku: product_id(order.client_id, sku) for sku in skus}
    products = ctx.binder(erp_id, "product")
    bound = await products.external_ids(list(ids.values()))
    refs = {sku: bound[cid] for sku, cid in ids.items() if cid in bound}
    unknown = [sku for sku in skus if sku not in refs]
    if unknown:
        sink = await ctx.order_sink(erp_id)
        looked_up = await sink.resolve_items(unknown)
        for sku, ref in looked_up.items():
            refs[sku] = ref
            products.bind(ref, ids[sku])
        still = [sku for sku in unknown if sku not in looked_up]
        if still:
            message = (
                f"order {order.number}: SKU {', '.join(still)} not found in the ERP (connection {erp_id}); "
                "create the item there or fix the SKU in the channel, then replay"
            )
            ctx.open_exception(
                unknown_sku_key(order.id),
                "unknown_sku",
                "order",
                order.id,
                message,
                number=order.number,
                skus=still,
                erp_connection_id=erp_id,
            )
            raise PermanentError(message)
    return refs


async def upsert_sales_order(ctx: StepContext) -> dict[str, Any]:
    """Create or update the ERP sales order (upsert by external id: safe to repeat)."""
    order = load_order(ctx)
    erp_id = ctx.outputs["check_not_cancelled"]["erp_connection_id"]
    sink = await ctx.order_sink(erp_id)
    ref = await sink.upsert_sales_order(
        order, customer_ref=ctx.outputs["resolve_customer"]["customer_ref"], item_refs=ctx.outputs["resolve_items"]
    )
    return {"sales_order_ref": ref}


async def record(ctx: StepContext) -> dict[str, Any]:
    """Bind the order in both systems and add ``order.exported`` to its timeline."""
    order = load_order(ctx)
    erp_id = ctx.outputs["check_not_cancelled"]["erp_connection_id"]
    ref = ctx.outputs["upsert_sales_order"]["sales_order_ref"]
    first_export = ctx.outputs["check_not_cancelled"]["sales_order_ref"] is None
    if first_export and "check_not_cancelled" in ctx.claimed.done_steps:
        # The check's output was kept from an earlier attempt (a retry, or a replay from a later
        # step): the order may have been exported since, so ask the bindings again.
        first_export = await sales_order_ref(ctx, order, erp_id) is None
    ctx.bind(order.source.connection_id, "order", order.source.external_id, order.id)
    ctx.bind(erp_id, "order", ref, order.id)
    ctx.event(
        "order",
        order.id,
        "order.exported" if first_export else "order.updated_in_erp",
        system="erp",
        connection_id=erp_id,
        external_id=ref,
        number=order.number,
        total=format(order.total, "f"),
        currency=order.currency,
        source_updated_at=order.updated_at.isoformat() if order.updated_at else None,
    )
    keys = (missing_sku_key(order.id), unknown_sku_key(order.id), not_in_erp_key(order.id))
    ctx.record(ExceptionsResolved(keys, f"order {order.number} reached the ERP as {ref} (run {ctx.claimed.run.id})"))
    return {"order_id": order.id, "sales_order_ref": ref}


def missing_sku_key(order_id: str) -> str:
    """The exception key of an order with lines without SKU."""
    return f"missing_sku:{order_id}"


def unknown_sku_key(order_id: str) -> str:
    """The exception key of an order whose SKUs the ERP does not know."""
    return f"unknown_sku:{order_id}"


def not_in_erp_key(order_id: str) -> str:
    """The reconciliation's exception key of an order seen on a channel but not in the ERP."""
    return f"reconcile:order_not_in_erp:{order_id}"


FLOW = Flow(
    name=NAME,
    version=VERSION,
    description="Channel order → ERP customer (if new) and sales order",
    steps=(
        Step("map_order", map_order),
        Step("check_not_cancelled", check_not_cancelled),
        Step("check_holds", check_holds),
        Step("resolve_customer", resolve_customer),
        Step("resolve_items", resolve_items),
        Step("upsert_sales_order", upsert_sales_order),
        Step("record", record),
    ),
)
