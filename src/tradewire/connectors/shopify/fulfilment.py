"""Confirm shipments on Shopify: ``fulfillmentCreate`` against the order's fulfillment orders.

``ShopifyShipmentSink`` implements ``connectors.base.fulfilment.ShipmentSink``. Idempotency, two
ways (FACTS §1.7): a fulfilment already carrying the shipment's tracking number is returned as
is, and every ``fulfillmentCreate`` carries ``@idempotent(key:)`` derived from the connection and
the shipment id, so a retry whose first answer was lost replays that answer instead of creating
a second fulfilment.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from tradewire.canonical import Order, Shipment
from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.shopify.client import SYSTEM, ShopifyAdminClient, order_gid
from tradewire.errors import VendorRejected

FULFILLMENT_ORDERS_PAGE = 5
FULFILLMENT_LINES_PAGE = 50
FULFILLMENTS_PAGE = 50
FULFILMENT_STATE_QUERY = (
    "query FulfilmentState($id: ID!) { order(id: $id) { id name "
    f"fulfillments(first: {FULFILLMENTS_PAGE}) {{ id status trackingInfo(first: 5) {{ number }} }} "
    f"fulfillmentOrders(first: {FULFILLMENT_ORDERS_PAGE}) {{ nodes {{ id status "
    f"lineItems(first: {FULFILLMENT_LINES_PAGE}) {{ nodes {{ id remainingQuantity lineItem {{ id sku }} }} }} }} }} }} }}"
)
# Requested cost: order 1 + fulfillments list 1 + its tracking list 1 + FO connection 2 + per FO
# (1 + line connection 2 + per line (1 + lineItem 1)) = 520 with the pages above (limit 1000).
FULFILMENT_STATE_COST = 1 + 2 + 2 + FULFILLMENT_ORDERS_PAGE * (1 + 2 + FULFILLMENT_LINES_PAGE * 2)
FULFILLMENT_CREATE_MUTATION = (
    "mutation FulfillmentCreate($fulfillment: FulfillmentInput!, $key: String!) { "
    "fulfillmentCreate(fulfillment: $fulfillment) @idempotent(key: $key) { "
    "fulfillment { id status trackingInfo(first: 5) { number } } userErrors { field message } } }"
)
_OPEN = ("OPEN", "IN_PROGRESS", "SCHEDULED")
_KEYS = uuid.UUID("5b0f1c1e-6a53-4d1b-9a39-3d2f3f0c7a11")


def idempotency_key(kind: str, connection_id: str, object_id: str) -> str:
    """A stable ``@idempotent`` key (a UUID) for one canonical object written on one connection."""
    return str(uuid.uuid5(_KEYS, f"shopify:{kind}:{connection_id}:{object_id}"))


@dataclass
class _Candidate:
    fulfillment_order_id: str
    line_id: str
    remaining: int


def _numeric(gid_or_id: str | None) -> str | None:
    return gid_or_id.rsplit("/", 1)[-1] if gid_or_id else None


def plan_fulfilment(shipment: Shipment, fulfillment_orders: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``lineItemsByFulfillmentOrder`` for the shipment's lines (pure).

    Each shipment line matches fulfillment order lines by order line id, else by SKU, and takes
    what is left on them in order; a quantity beyond what is left stays on the first match, so
    Shopify refuses the over-fulfilment (or replays the first answer on a retried key).

    Raises:
        VendorRejected: a shipment line matches no line of the order.
    """
    by_order_line: dict[str, list[_Candidate]] = {}
    by_sku: dict[str, list[_Candidate]] = {}
    # Open fulfillment orders first; closed ones still match, so a retried shipment reaches Shopify
    # with its key (and gets its first answer back) instead of failing here.
    ordered = sorted(fulfillment_orders, key=lambda fo: fo.get("status") not in _OPEN)
    for fulfillment_order in ordered:
        for line in (fulfillment_order.get("lineItems") or {}).get("nodes") or []:
            candidate = _Candidate(str(fulfillment_order["id"]), str(line["id"]), int(line["remainingQuantity"]))
            item = line.get("lineItem") or {}
            by_order_line.setdefault(_numeric(item.get("id")) or "", []).append(candidate)
            if item.get("sku"):
                by_sku.setdefault(str(item["sku"]), []).append(candidate)
    picks: dict[tuple[str, str], int] = {}
    for index, line in enumerate(shipment.lines):
        matches = by_order_line.get(_numeric(line.order_line_id) or "") or by_sku.get(line.sku or "") or []
        if not matches:
            what = line.order_line_id or line.sku or f"line {index}"
            raise VendorRejected(f"shipment {shipment.id}: {what} is not a line of the Shopify order", system=SYSTEM)
        need = line.quantity
        for candidate in matches:
            take = min(need, candidate.remaining)
            if take > 0:
                candidate.remaining -= take
                key = (candidate.fulfillment_order_id, candidate.line_id)
                picks[key] = picks.get(key, 0) + take
                need -= take
        if need > 0:
            key = (matches[0].fulfillment_order_id, matches[0].line_id)
            picks[key] = picks.get(key, 0) + need
    groups: dict[str, list[dict[str, Any]]] = {}
    for (fulfillment_order_id, line_id), quantity in picks.items():
        groups.setdefault(fulfillment_order_id, []).append({"id": line_id, "quantity": quantity})
    return [{"fulfillmentOrderId": fo, "fulfillmentOrderLineItems": lines} for fo, lines in groups.items()]


def tracking_input(shipment: Shipment) -> dict[str, Any] | None:
    """``trackingInfo`` for the shipment (None without tracking or carrier)."""
    tracking = {"company": shipment.carrier, "number": shipment.tracking_number, "url": shipment.tracking_url}
    tracking = {key: value for key, value in tracking.items() if value}
    return tracking or None


class ShopifyShipmentSink:
    """``ShipmentSink`` for one Shopify connection."""

    def __init__(self, client: ShopifyAdminClient, connection_id: str, *, notify_customer: bool = False) -> None:
        self.client = client
        self.connection_id = connection_id
        self.notify_customer = notify_customer

    async def confirm_shipment(self, shipment: Shipment, *, order: Order, order_ref: str) -> str:
        """Create the fulfilment of ``shipment`` on order ``order_ref``; return the fulfilment's GID.

        Raises:
            VendorRejected: unknown order, a line not on the order, over-fulfilment, a closed order.
            VendorError: see ``ShopifyAdminClient.execute``.
        """
        data = await self.client.execute(
            FULFILMENT_STATE_QUERY,
            {"id": order_gid(order_ref)},
            cost=FULFILMENT_STATE_COST,
            operation="fulfillmentOrders",
        )
        state = data.get("order")
        if state is None:
            raise VendorRejected(f"shipment {shipment.id}: Shopify order {order_ref} does not exist", system=SYSTEM)
        if shipment.tracking_number:
            for existing in state.get("fulfillments") or []:
                numbers = {info.get("number") for info in existing.get("trackingInfo") or []}
                if shipment.tracking_number in numbers and existing.get("status") != "CANCELLED":
                    return str(existing["id"])
        fulfillment_orders = list((state.get("fulfillmentOrders") or {}).get("nodes") or [])
        fulfillment: dict[str, Any] = {
            "lineItemsByFulfillmentOrder": plan_fulfilment(shipment, fulfillment_orders),
            "notifyCustomer": self.notify_customer,
        }
        tracking = tracking_input(shipment)
        if tracking is not None:
            fulfillment["trackingInfo"] = tracking
        return await self.client.create(
            FULFILLMENT_CREATE_MUTATION,
            {"fulfillment": fulfillment, "key": idempotency_key("fulfillment", self.connection_id, shipment.id)},
            operation="fulfillmentCreate",
            created="fulfillment",
        )

    async def aclose(self) -> None:
        """Close the client."""
        await self.client.aclose()


def open_shipment_sink(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None = None
) -> ShopifyShipmentSink:
    """``SPEC.shipment_sink``: the sink of one connection."""
    return ShopifyShipmentSink(ShopifyAdminClient.from_connection(connection, budget, transport), connection.id)
