"""Fulfillment orders and fulfillments of the sandbox store (``fulfillmentCreate``).

Every order gets one fulfillment order at the default location when it is first looked at, with
a line per order line (``totalQuantity`` / ``remainingQuantity``). ``fulfillmentCreate`` checks
what Shopify checks: the fulfillment orders exist, belong to one order and are open; each line
belongs to its fulfillment order and asks at most its remaining quantity (omitting the lines
fulfils everything left). A fulfillment updates the REST order (``fulfillments``,
``fulfillment_status``, line ``fulfillable_quantity``) and sends ``orders/updated``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tradewire.connectors.shopify.sandbox_stock import location_gid, parse_gid

if TYPE_CHECKING:
    from tradewire.connectors.shopify.sandbox_shop import SandboxShop

CLOSED = ("CLOSED", "CANCELLED", "INCOMPLETE")


class FulfilmentBook:
    """Fulfillment orders per order id, and the fulfillments made."""

    def __init__(self, shop: SandboxShop) -> None:
        self.shop = shop
        self.orders: dict[int, list[dict[str, Any]]] = {}
        self.done: dict[int, list[dict[str, Any]]] = {}

    def fulfillment_orders(self, order_id: int) -> list[dict[str, Any]]:
        """The order's fulfillment orders (created on first use); empty when the order does not exist."""
        shop = self.shop
        with shop._lock:
            if order_id in self.orders:
                return self.orders[order_id]
            order = shop.orders.get(order_id)
            if order is None:
                return []
            location = next(iter(shop.stock.locations))
            lines = [
                {
                    "id": f"gid://shopify/FulfillmentOrderLineItem/{shop.next_id()}",
                    "totalQuantity": int(li.get("quantity") or 0),
                    "remainingQuantity": int(li.get("fulfillable_quantity", li.get("quantity")) or 0),
                    "lineItem": {"id": f"gid://shopify/LineItem/{li['id']}", "sku": li.get("sku"), "_id": li["id"]},
                }
                for li in order.get("line_items") or []
            ]
            status = "CLOSED" if order.get("cancelled_at") else "OPEN"
            fulfillment_order = {
                "id": f"gid://shopify/FulfillmentOrder/{shop.next_id()}",
                "status": status,
                "orderId": order_id,
                "assignedLocation": {
                    "location": {"id": location_gid(location), "name": shop.stock.locations[location]}
                },
                "_lineItems": lines,
            }
            self.orders[order_id] = [fulfillment_order]
            return self.orders[order_id]

    def fulfillments(self, order_id: int) -> list[dict[str, Any]]:
        """The order's fulfillments as GraphQL objects."""
        with self.shop._lock:
            return list(self.done.get(order_id, []))

    def create(self, data: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Apply ``FulfillmentInput``; return (user errors, fulfillment)."""
        groups = list(data.get("lineItemsByFulfillmentOrder") or [])
        if not groups:
            return [
                _error(
                    ["fulfillment", "lineItemsByFulfillmentOrder"], "Line items by fulfillment order can't be blank."
                )
            ], None
        shop = self.shop
        with shop._lock:
            picks: list[tuple[dict[str, Any], int]] = []
            order_ids: set[int] = set()
            for index, group in enumerate(groups):
                path = ["fulfillment", "lineItemsByFulfillmentOrder", str(index)]
                found = self._find(str(group.get("fulfillmentOrderId") or ""))
                if found is None:
                    return [_error([*path, "fulfillmentOrderId"], "Fulfillment order does not exist.")], None
                order_id, fulfillment_order = found
                order_ids.add(order_id)
                if fulfillment_order["status"] in CLOSED:
                    message = f"Fulfillment order {fulfillment_order['id']} has an unfulfillable status= {fulfillment_order['status'].lower()}."
                    return [_error([*path, "fulfillmentOrderId"], message)], None
                wanted = group.get("fulfillmentOrderLineItems")
                lines = {line["id"]: line for line in fulfillment_order["_lineItems"]}
                if wanted is None:
                    picks.extend(
                        (line, line["remainingQuantity"]) for line in lines.values() if line["remainingQuantity"]
                    )
                    continue
                for position, item in enumerate(wanted):
                    line = lines.get(str(item.get("id")))
                    quantity = item.get("quantity")
                    where = [*path, "fulfillmentOrderLineItems", str(position)]
                    if line is None:
                        return [_error([*where, "id"], "Fulfillment order line item does not exist.")], None
                    if not isinstance(quantity, int) or quantity <= 0 or quantity > line["remainingQuantity"]:
                        return [
                            _error([*where, "quantity"], "Invalid fulfillment order line item quantity requested.")
                        ], None
                    picks.append((line, quantity))
            if len(order_ids) > 1:
                return [_error(["fulfillment"], "All fulfillment orders must belong to the same order.")], None
            if not picks:
                return [_error(["fulfillment"], "There is nothing left to fulfill.")], None
            return [], self._record(order_ids.pop(), picks, data)

    def _find(self, gid: str) -> tuple[int, dict[str, Any]] | None:
        if parse_gid(gid, "FulfillmentOrder") is None:
            return None
        for order_id in list(self.shop.orders):
            for fulfillment_order in self.fulfillment_orders(order_id):
                if fulfillment_order["id"] == gid:
                    return order_id, fulfillment_order
        return None

    def _record(
        self, order_id: int, picks: list[tuple[dict[str, Any], int]], data: Mapping[str, Any]
    ) -> dict[str, Any]:
        shop = self.shop
        order = shop.orders[order_id]
        tracking = data.get("trackingInfo") or {}
        numbers = [n for n in [tracking.get("number"), *(tracking.get("numbers") or [])] if n]
        urls = [u for u in [tracking.get("url"), *(tracking.get("urls") or [])] if u]
        fulfillment_id = shop.next_id()
        count = len(order.get("fulfillments") or []) + 1
        now = shop.now_text()
        for line, quantity in picks:
            line["remainingQuantity"] -= quantity
        for fulfillment_order in self.orders[order_id]:
            left = sum(line["remainingQuantity"] for line in fulfillment_order["_lineItems"])
            fulfillment_order["status"] = "CLOSED" if left == 0 else "IN_PROGRESS"
        shipped: dict[int, int] = {}
        for line, quantity in picks:
            shipped[line["lineItem"]["_id"]] = shipped.get(line["lineItem"]["_id"], 0) + quantity
        for rest_line in order.get("line_items") or []:
            rest_line["fulfillable_quantity"] = int(
                rest_line.get("fulfillable_quantity", rest_line["quantity"])
            ) - shipped.get(rest_line["id"], 0)
            if rest_line["id"] in shipped:
                rest_line["fulfillment_status"] = "fulfilled" if rest_line["fulfillable_quantity"] == 0 else "partial"
        left = sum(int(li.get("fulfillable_quantity") or 0) for li in order.get("line_items") or [])
        order["fulfillment_status"] = "fulfilled" if left == 0 else "partial"
        order["updated_at"] = now
        node = {
            "id": f"gid://shopify/Fulfillment/{fulfillment_id}",
            "legacyResourceId": str(fulfillment_id),
            "name": f"{order.get('name') or order_id}.{count}",
            "status": "SUCCESS",
            "createdAt": now,
            "trackingInfo": [
                {"company": tracking.get("company"), "number": number, "url": urls[i] if i < len(urls) else None}
                for i, number in enumerate(numbers)
            ],
            "_lines": [
                {"quantity": q, "lineItem": {k: v for k, v in line["lineItem"].items() if k != "_id"}}
                for line, q in picks
            ],
        }
        order.setdefault("fulfillments", []).append(
            {
                "id": fulfillment_id,
                "order_id": order_id,
                "status": "success",
                "created_at": now,
                "tracking_company": tracking.get("company"),
                "tracking_number": numbers[0] if numbers else None,
                "tracking_numbers": numbers,
                "tracking_url": urls[0] if urls else None,
                "tracking_urls": urls,
                "line_items": [{"id": line["lineItem"]["_id"], "quantity": q} for line, q in picks],
            }
        )
        self.done.setdefault(order_id, []).append(node)
        shop._emit(["orders/updated"], order)
        return node


def _error(path: list[str], message: str) -> dict[str, Any]:
    return {"field": path, "message": message}
