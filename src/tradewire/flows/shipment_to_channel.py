"""shipment_to_channel: what the warehouse shipped is confirmed on the order's channel, once.

load_shipments (the message's shipments, read from the vendor when the message only names
them) → confirm_shipments. For each shipment: find its order (:mod:`shipment_orders`), skip it
when the channel already has it (binding ``(channel, "shipment", fulfilment id, shipment id)``),
match its lines to the order's open lines (:mod:`shipment_lines`), confirm it through the
channel's ``SPEC.shipment_sink``, then bind it and record the stock movements, a ``shipment``
snapshot (what shipped of which order lines, kept even if the run fails later) and timeline
events. When every line has shipped: ``order.fulfilled``, and ``invoice_in_erp`` is queued if the
channel connection says ``settings.invoicing: on_fulfilment``.

Voided shipments are recorded, never confirmed. An unknown order or a shipment that does not
fit the order opens an exception and ends the run dead (replay it once fixed); the other
shipments of the same message are still confirmed.
"""

from __future__ import annotations

from typing import Any

from tradewire.canonical import Order, Shipment, ShipmentLine, ShipmentStatus
from tradewire.errors import PermanentError
from tradewire.flows import invoice_in_erp
from tradewire.flows.context import StepContext
from tradewire.flows.engine import Flow, Step
from tradewire.flows.records import load_records
from tradewire.flows.shipment_lines import ShipmentMismatch, fully_shipped, match_lines, shipped_after
from tradewire.flows.shipment_orders import CONFIRMED, find_order, shipped_so_far
from tradewire.runtime.store.port_facts import ObjectSnapshot, StockMovement, StockMovementKind
from tradewire.runtime.store.port_fulfilment import FollowUpRun

NAME = "shipment_to_channel"
VERSION = 1
INVOICE_ON_FULFILMENT = "on_fulfilment"
FULFILLED = "order.fulfilled"


async def load_shipments(ctx: StepContext) -> dict[str, Any]:
    """The message's shipments as canonical records (checkpointed: a retry does not read them again)."""
    records = await load_records(ctx, "shipment")
    return {"shipments": [r.model_dump(mode="json") for r in records]}


async def confirm_shipments(ctx: StepContext) -> dict[str, Any]:
    """Confirm each shipment on its order's channel (see the module docstring).

    Raises:
        PermanentError: some shipment's order is unknown or its lines do not fit (exceptions are open).
    """
    shipments = [Shipment.model_validate(s) for s in ctx.outputs["load_shipments"]["shipments"]]
    tallies: dict[str, dict[str, int]] = {}
    outcomes: list[dict[str, Any]] = []
    problems: list[str] = []
    for shipment in shipments:
        outcome = await apply_shipment(ctx, shipment, tallies)
        outcomes.append(outcome)
        if outcome["status"] in ("unknown_order", "mismatch"):
            problems.append(outcome["reason"])
    if problems:
        raise PermanentError("; ".join(problems))
    return {"shipments": outcomes}


async def apply_shipment(ctx: StepContext, shipment: Shipment, tallies: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Confirm one shipment (or say why not); ``tallies`` carries what this run shipped per order."""
    order = await find_order(ctx, shipment)
    if order is None:
        reason = (
            f"shipment {shipment.source.external_id} names order {shipment.order_number}, which Tradewire does not know"
        )
        ctx.open_exception(
            f"shipment_unknown_order:{shipment.id}", "unknown_order", "shipment", shipment.id,
            f"{reason}; import the order (or fix the order number in {shipment.source.system}), then replay the run",
            order_number=shipment.order_number, order_external_id=shipment.order_external_id,
            source=shipment.source.system, source_id=shipment.source.external_id,
        )  # fmt: skip
        return {"shipment_id": shipment.id, "status": "unknown_order", "reason": reason}
    channel_id = order.source.connection_id
    if order.id not in tallies:
        tallies[order.id] = await confirmed_quantities(ctx, order.id)
    confirmed = await ctx.binder(channel_id, "shipment").external_id(shipment.id)
    if shipment.status is ShipmentStatus.VOIDED:
        return record_void(ctx, order, shipment, confirmed)
    if confirmed is not None:
        await recover_events(ctx, order, shipment, confirmed, tallies[order.id])
        return {"shipment_id": shipment.id, "order_id": order.id, "status": "duplicate", "fulfilment": confirmed}
    ctx.event("order", order.id, "shipment.received", system=shipment.source.system,
              connection_id=shipment.source.connection_id, external_id=shipment.source.external_id,
              shipment_id=shipment.id, tracking_number=shipment.tracking_number)  # fmt: skip
    try:
        lines = match_lines(order, shipment, tallies[order.id])
    except ShipmentMismatch as exc:
        ctx.open_exception(
            f"shipment_mismatch:{shipment.id}", exc.kind, "order", order.id, str(exc),
            shipment_id=shipment.id, source=shipment.source.system, source_id=shipment.source.external_id,
        )  # fmt: skip
        return {"shipment_id": shipment.id, "order_id": order.id, "status": "mismatch", "reason": str(exc)}
    matched = shipment.model_copy(update={"lines": lines, "order_external_id": order.source.external_id})
    sink = await ctx.vendor(channel_id, "shipment_sink")
    fulfilment = await sink.confirm_shipment(matched, order=order, order_ref=order.source.external_id)
    ctx.bind(channel_id, "shipment", fulfilment, shipment.id)
    ctx.bind(shipment.source.connection_id, "shipment", shipment.source.external_id, shipment.id)
    record_confirmation(ctx, order, matched, fulfilment)
    # A shipment that once failed (unknown order, mismatch) and is now confirmed heals its exceptions.
    healed = [f"shipment_unknown_order:{shipment.id}", f"shipment_mismatch:{shipment.id}"]
    await ctx.env.db.call(ctx.env.store.resolve_exceptions_by_key, healed, NAME, "confirmed on a later run", ctx.now())
    before = tallies[order.id]
    tallies[order.id] = shipped_after(before, lines)
    if fully_shipped(order, tallies[order.id]) and not fully_shipped(order, before):
        await order_fulfilled(ctx, order)
    return {"shipment_id": shipment.id, "order_id": order.id, "status": "confirmed", "fulfilment": fulfilment}


async def confirmed_quantities(ctx: StepContext, order_id: str) -> dict[str, int]:
    """Order line id → quantity confirmed on the channel so far (from the ``shipment`` snapshots)."""
    stored = await ctx.env.db.call(ctx.env.store.find_objects, "shipment", order_id, 10_000)
    shipped: dict[str, int] = {}
    for snapshot in stored:
        for line in snapshot.body.get("lines") or []:
            line_id, quantity = line.get("order_line_id"), line.get("quantity")
            if isinstance(line_id, str) and isinstance(quantity, int):
                shipped[line_id] = shipped.get(line_id, 0) + quantity
    return shipped


def lines_detail(lines: list[ShipmentLine]) -> list[dict[str, Any]]:
    """The matched lines as JSON for events and snapshots."""
    return [{"order_line_id": line.order_line_id, "sku": line.sku, "quantity": line.quantity} for line in lines]


def record_confirmation(ctx: StepContext, order: Order, shipment: Shipment, fulfilment: str) -> None:
    """Stock movements, the shipment snapshot and the ``shipment.confirmed`` event of a confirmed shipment."""
    per_sku: dict[str, int] = {}
    for line in shipment.lines:
        if line.sku:
            per_sku[line.sku] = per_sku.get(line.sku, 0) + line.quantity
    for sku, quantity in sorted(per_sku.items()):
        ctx.record(
            StockMovement(f"ship:{shipment.id}:{sku}", StockMovementKind.SHIP, sku, quantity,
                          reference=shipment.id, at=shipment.shipped_at)
        )  # fmt: skip
    body = {"order_id": order.id, "fulfilment": fulfilment, "lines": lines_detail(shipment.lines),
            "shipment": shipment.model_dump(mode="json")}  # fmt: skip
    ctx.record(ObjectSnapshot("shipment", shipment.id, order.id, shipment.shipped_at.isoformat(), body))
    confirmed_event(ctx, order, shipment, fulfilment)


def confirmed_event(ctx: StepContext, order: Order, shipment: Shipment, fulfilment: str) -> None:
    """``shipment.confirmed`` on the order's timeline, with tracking."""
    ctx.event(
        "order", order.id, CONFIRMED, system=order.source.system, connection_id=order.source.connection_id,
        external_id=fulfilment, shipment_id=shipment.id, tracking_number=shipment.tracking_number,
        carrier=shipment.carrier, lines=lines_detail(shipment.lines),
    )  # fmt: skip


async def recover_events(
    ctx: StepContext, order: Order, shipment: Shipment, fulfilment: str, shipped: dict[str, int]
) -> None:
    """A shipment confirmed by an attempt that then failed: write the events that attempt could not."""
    events = await ctx.timeline("order", order.id)
    _, shipments = shipped_so_far(events)
    if shipment.id not in shipments:
        stored = await ctx.env.db.call(ctx.env.store.get_object, "shipment", shipment.id)
        if stored is not None:
            lines = [ShipmentLine.model_validate(line) for line in stored.body.get("lines") or []]
            confirmed_event(ctx, order, shipment.model_copy(update={"lines": lines}), fulfilment)
    if fully_shipped(order, shipped) and not any(e.event == FULFILLED for e in events):
        await order_fulfilled(ctx, order)


def record_void(ctx: StepContext, order: Order, shipment: Shipment, confirmed: str | None) -> dict[str, Any]:
    """A voided label: noted on the timeline, never confirmed; an exception if the channel already has it."""
    ctx.event("order", order.id, "shipment.voided", system=shipment.source.system,
              connection_id=shipment.source.connection_id, external_id=shipment.source.external_id,
              shipment_id=shipment.id, tracking_number=shipment.tracking_number)  # fmt: skip
    if confirmed is not None:
        ctx.open_exception(
            f"shipment_voided_after_confirmation:{shipment.id}", "voided_after_confirmation", "order", order.id,
            f"shipment {shipment.source.external_id} (tracking {shipment.tracking_number}) was voided after it was "
            f"confirmed on {order.source.system}; correct the tracking on the channel by hand",
            shipment_id=shipment.id, fulfilment=confirmed,
        )  # fmt: skip
    return {"shipment_id": shipment.id, "order_id": order.id, "status": "voided"}


async def order_fulfilled(ctx: StepContext, order: Order) -> None:
    """``order.fulfilled`` on the timeline (once per run); queue ``invoice_in_erp`` when the channel wants it."""
    done: set[str] = ctx.memo.setdefault(FULFILLED, set())
    if order.id in done:
        return
    done.add(order.id)
    ctx.event("order", order.id, FULFILLED, system=order.source.system,
              connection_id=order.source.connection_id, number=order.number)  # fmt: skip
    channel = await ctx.connection(order.source.connection_id)
    if channel.connection.settings.get("invoicing", "never") != INVOICE_ON_FULFILMENT:
        return
    ctx.record(
        FollowUpRun(
            flow=invoice_in_erp.NAME,
            flow_version=invoice_in_erp.VERSION,
            dedupe_key=f"invoice:{order.id}",
            input={"order_id": order.id},
            connection_id=order.source.connection_id,
            ordering_key=f"invoice:{order.id}",
        )
    )


FLOW = Flow(
    name=NAME,
    version=VERSION,
    description="ERP/3PL shipment → confirmed on the order's channel with tracking",
    steps=(Step("load_shipments", load_shipments), Step("confirm_shipments", confirm_shipments)),
)
