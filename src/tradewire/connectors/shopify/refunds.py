"""Refund returns on Shopify: ``refundCreate`` with refund line items and a refund transaction.

``ShopifyRefundSink`` implements ``connectors.base.returns.RefundSink``, idempotent by the
return's id twice over: the refund's note carries ``refund_marker`` (``tradewire:<return id>``) and an existing refund with
that marker is returned as is; every ``refundCreate`` carries ``@idempotent(key:)`` derived from
the connection and the return id (required from API 2026-04, FACTS §1.7), so a retry whose
first answer was lost replays it. Lines restock (``RETURN`` at the default location) when the
return's disposition is ``restock`` and the connection's ``refund_restock`` is on.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from tradewire.canonical import Disposition, Order, Return
from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.returns import refund_marker
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.shopify.client import SYSTEM, ShopifyAdminClient, order_gid
from tradewire.connectors.shopify.fulfilment import idempotency_key
from tradewire.connectors.shopify.inventory import LocationResolver
from tradewire.errors import VendorRejected

PAGE = 50
REFUND_STATE_QUERY = (
    "query RefundState($id: ID!) { order(id: $id) { id currencyCode "
    f"transactions(first: {PAGE}) {{ id kind status gateway amountSet {{ shopMoney {{ amount currencyCode }} }} }} "
    f"refunds(first: {PAGE}) {{ id note }} }} }}"
)
REFUND_STATE_COST = 1 + (1 + 2) + 1
REFUND_CREATE_MUTATION = (
    "mutation RefundCreate($input: RefundInput!, $key: String!) { "
    "refundCreate(input: $input) @idempotent(key: $key) { refund { id note } userErrors { field message } } }"
)
_PAID = ("SALE", "CAPTURE")


def return_marker(ret: Return) -> str:
    """The text a refund's note carries to name its return (``connectors.base.returns.refund_marker``)."""
    return refund_marker(ret.id)


def refund_lines(ret: Return, order: Order, *, restock_location: str | None) -> list[dict[str, Any]]:
    """``refundLineItems`` for the return (pure): each line by its order line id, else by SKU.

    Raises:
        VendorRejected: a returned line that is not on the order.
    """
    by_sku = {line.sku: line.line_id for line in order.lines if line.sku}
    line_ids = {line.line_id for line in order.lines}
    items: list[dict[str, Any]] = []
    for line in ret.lines:
        line_id = line.order_line_id if line.order_line_id in line_ids else by_sku.get(line.sku or "")
        if line_id is None or not line_id.isdigit():
            what = line.order_line_id or line.sku or line.line_id
            raise VendorRejected(f"return {ret.id}: {what} is not a line of order {order.number}", system=SYSTEM)
        item: dict[str, Any] = {"lineItemId": f"gid://shopify/LineItem/{line_id}", "quantity": line.quantity}
        if restock_location is not None and line.disposition == Disposition.RESTOCK:
            item.update(restockType="RETURN", locationId=restock_location)
        else:
            item["restockType"] = "NO_RESTOCK"
        items.append(item)
    return items


def refund_transactions(ret: Return, order_ref: str, transactions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The refund transaction of ``ret.refund_total`` against the order's payment (none for a zero refund).

    Raises:
        VendorRejected: money to refund but no successful sale or capture to refund it against.
    """
    if ret.refund_total <= 0:
        return []
    parent = next((t for t in transactions if t.get("kind") in _PAID and t.get("status") == "SUCCESS"), None)
    if parent is None:
        raise VendorRejected(
            f"return {ret.id}: order {order_ref} has no captured payment to refund {ret.refund_total}", system=SYSTEM
        )
    return [
        {
            "orderId": order_gid(order_ref),
            "parentId": parent["id"],
            "amount": format(Decimal(ret.refund_total).quantize(Decimal("0.01")), "f"),
            "gateway": parent.get("gateway") or "manual",
            "kind": "REFUND",
        }
    ]


class ShopifyRefundSink:
    """``RefundSink`` for one Shopify connection."""

    def __init__(self, client: ShopifyAdminClient, connection_id: str) -> None:
        self.client = client
        self.connection_id = connection_id
        self.locations = LocationResolver(client, client.settings.inventory_location_id)

    async def refund(self, ret: Return, *, order: Order, order_ref: str) -> str:
        """Refund ``ret`` on order ``order_ref``; return the refund's GID (the existing one on a repeat).

        Raises:
            VendorRejected: unknown order, a line not on the order, nothing captured, Shopify's user errors.
            VendorError: see ``ShopifyAdminClient.execute``.
        """
        data = await self.client.execute(
            REFUND_STATE_QUERY, {"id": order_gid(order_ref)}, cost=REFUND_STATE_COST, operation="order refunds"
        )
        state = data.get("order")
        if state is None:
            raise VendorRejected(f"return {ret.id}: Shopify order {order_ref} does not exist", system=SYSTEM)
        marker = return_marker(ret)
        for existing in state.get("refunds") or []:
            if marker in str(existing.get("note") or ""):
                return str(existing["id"])
        restock = await self.locations.resolve(None) if self.client.settings.refund_restock else None
        refund_input: dict[str, Any] = {
            "orderId": order_gid(order_ref),
            "note": f"Return {ret.number or ret.id} {marker}",
            "notify": False,
            "refundLineItems": refund_lines(ret, order, restock_location=restock),
            "transactions": refund_transactions(ret, order_ref, list(state.get("transactions") or [])),
        }
        return await self.client.create(
            REFUND_CREATE_MUTATION,
            {"input": refund_input, "key": idempotency_key("refund", self.connection_id, ret.id)},
            operation="refundCreate",
            created="refund",
        )

    async def aclose(self) -> None:
        """Close the client."""
        await self.client.aclose()


def open_refund_sink(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None = None
) -> ShopifyRefundSink:
    """``SPEC.refund_sink``: the sink of one connection."""
    return ShopifyRefundSink(ShopifyAdminClient.from_connection(connection, budget, transport), connection.id)
