"""Steps shared by the order flows: read the channel's order, find its ERP twin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tradewire.canonical import Customer, Order, canonical_id, customer_key
from tradewire.connectors import get_spec
from tradewire.connectors.base.payload import load_json_object
from tradewire.errors import ConfigError, MappingError
from tradewire.flows.context import ParkRun, StepContext
from tradewire.runtime.store.port_facts import ObjectSnapshot

ERP_ROUTE = "erp"


def load_order(ctx: StepContext) -> Order:
    """The canonical order produced by the ``map_order`` step (validated once per execution)."""
    cached = ctx.memo.get("order")
    if isinstance(cached, Order):
        return cached
    order = Order.model_validate(ctx.outputs["map_order"])
    ctx.memo["order"] = order
    return order


async def map_order(ctx: StepContext) -> dict[str, Any]:
    """Vendor payload → canonical order (bad data is a permanent error).

    When the stored message only names the order, the order is read from the vendor first;
    the step's output (the canonical order) is checkpointed, so a retry does not read it again.
    """
    return await _map_order(ctx, share_read=False)


async def map_order_read_by_export(ctx: StepContext) -> dict[str, Any]:
    """``map_order`` for a flow that runs beside the order's export on the same message.

    When the message only names the order, the export reads it from the vendor; this flow uses
    that read (one vendor call per message, not one per flow) and waits for it, parked without a
    failure, up to ``SHARED_READ_WAITS`` times before reading the order itself.
    """
    return await _map_order(ctx, share_read=True)


SHARED_READ_WAITS = 6
SHARED_READ_PAUSE = timedelta(seconds=1)


async def _map_order(ctx: StepContext, *, share_read: bool) -> dict[str, Any]:
    source = await ctx.connection(ctx.source_connection_id)
    spec = get_spec(source.connection.system)
    if spec.order_source is None:
        raise ConfigError(f"{spec.display_name} does not provide orders")
    body = ctx.claimed.body
    if body is None:
        raise MappingError(f"run {ctx.claimed.run.id} has no message body to map")
    payload = load_json_object(body)
    reference = spec.order_source.reference(payload)
    message_id = ctx.claimed.run.message_id
    read_key = f"message:{message_id}"
    if reference is not None:
        if share_read and message_id is not None:
            stored = await ctx.env.db.call(ctx.env.store.get_object, READ_OBJECT, read_key)
            if stored is not None:
                order = Order.model_validate(stored.body)
                ctx.memo["order"] = order
                return stored.body
            if ctx.claimed.run.attempt <= SHARED_READ_WAITS:
                raise ParkRun(f"waiting for the export to read order {reference}", ctx.now() + SHARED_READ_PAUSE)
        # The message only names the order (a notification or a polled summary): read it whole.
        reader = await ctx.order_reader(source.connection.id)
        payload = await reader.fetch_order(reference)
    order = spec.order_source.to_order(payload, client_id=ctx.client_id, connection_id=source.connection.id)
    ctx.memo["order"] = order
    canonical = order.model_dump(mode="json")
    ctx.record(ObjectSnapshot("order", order.id, order.number, order_version(order), canonical))
    if reference is not None and message_id is not None:
        ctx.record(ObjectSnapshot(READ_OBJECT, read_key, None, order_version(order), canonical))
    return canonical


READ_OBJECT = "order_read"
"""Snapshots of the order a thin message named, as read for it (shared by the flows of that message)."""


def order_version(order: Order) -> str:
    """The order's version as the channel last changed it (ISO-8601 UTC, sortable)."""
    return (order.updated_at or order.placed_at).isoformat()


async def erp_connection_id(ctx: StepContext) -> str:
    """The ERP connection this channel's orders go to (``settings.routes.erp``)."""
    source = await ctx.connection(ctx.source_connection_id)
    return source.route(ERP_ROUTE)


def order_customer(order: Order) -> Customer:
    """The customer master record implied by an order's buyer."""
    key = customer_key(order.customer.email, order.customer.source_customer_id, order.source.external_id)
    address = order.billing_address or order.shipping_address
    return Customer(
        id=canonical_id(order.client_id, "customer", key),
        client_id=order.client_id,
        email=order.customer.email,
        first_name=order.customer.first_name or (address.name.split(" ")[0] if address and address.name else None),
        last_name=order.customer.last_name,
        phone=order.customer.phone,
        company=address.company if address else None,
        default_address=address,
    )


async def sales_order_ref(ctx: StepContext, order: Order, erp_id: str) -> str | None:
    """The ERP id of the order's sales order, if it was exported."""
    return await ctx.binder(erp_id, "order").external_id(order.id)
