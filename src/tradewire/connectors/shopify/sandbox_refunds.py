"""Transactions and refunds of the sandbox store (``refundCreate``).

A paid order has one successful ``SALE`` transaction of its total (gateway ``bogus``), an
authorized one an ``AUTHORIZATION``, a pending one none. ``refundCreate`` checks what Shopify
checks: each line belongs to the order and is refunded at most its quantity less what earlier
refunds took; ``restockType: RETURN`` needs a location; each transaction is a ``REFUND`` whose
``parentId`` is a successful sale or capture of the order, and all refunds together stay within
what was captured. A refund updates the REST order (``refunds``, ``financial_status``, line
``current_quantity``), lowers what is left to fulfil on unshipped lines, restocks ``RETURN``
lines and sends ``orders/updated``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from tradewire.connectors.shopify.sandbox_stock import parse_gid

if TYPE_CHECKING:
    from tradewire.connectors.shopify.sandbox_shop import SandboxShop

RESTOCK_TYPES = ("NO_RESTOCK", "CANCEL", "RETURN", "LEGACY_RESTOCK")


def _money(amount: Decimal, currency: str) -> dict[str, Any]:
    money = {"amount": format(amount.quantize(Decimal("0.01")), "f"), "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": dict(money)}


class RefundBook:
    """Transactions and refunds per order id."""

    def __init__(self, shop: SandboxShop) -> None:
        self.shop = shop
        self.transactions: dict[int, list[dict[str, Any]]] = {}
        self.refunds: dict[int, list[dict[str, Any]]] = {}

    def order_transactions(self, order_id: int) -> list[dict[str, Any]]:
        """The order's transactions (the payment is created on first use)."""
        shop = self.shop
        with shop._lock:
            if order_id not in self.transactions:
                order = shop.orders.get(order_id)
                if order is None:
                    return []
                kind = {"paid": "SALE", "authorized": "AUTHORIZATION"}.get(str(order.get("financial_status")))
                total = Decimal(str(order.get("total_price") or "0"))
                self.transactions[order_id] = (
                    [self._transaction(order, kind, total, parent=None)] if kind is not None and total > 0 else []
                )
            return self.transactions[order_id]

    def order_refunds(self, order_id: int) -> list[dict[str, Any]]:
        """The order's refunds as GraphQL objects."""
        with self.shop._lock:
            return list(self.refunds.get(order_id, []))

    def _transaction(self, order: Mapping[str, Any], kind: str, amount: Decimal, parent: str | None) -> dict[str, Any]:
        return {
            "id": f"gid://shopify/OrderTransaction/{self.shop.next_id()}",
            "kind": kind,
            "status": "SUCCESS",
            "gateway": "bogus",
            "amountSet": _money(amount, str(order.get("currency") or "USD")),
            "parentTransaction": {"id": parent} if parent else None,
            "createdAt": self.shop.now_text(),
        }

    def create(self, data: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Apply ``RefundInput``; return (user errors, refund)."""
        shop = self.shop
        order_id = parse_gid(data.get("orderId"), "Order")
        with shop._lock:
            order = shop.orders.get(order_id) if order_id is not None else None
            if order is None or order_id is None:
                return [_error(["orderId"], "Order does not exist.")], None
            transactions = self.order_transactions(order_id)
            lines = {int(li["id"]): li for li in order.get("line_items") or []}
            taken: dict[int, int] = {}
            for refund in self.refunds.get(order_id, []):
                for item in refund["_lines"]:
                    taken[item["_id"]] = taken.get(item["_id"], 0) + item["quantity"]
            picks: list[tuple[dict[str, Any], int, str, int | None]] = []
            for index, item in enumerate(data.get("refundLineItems") or []):
                path = ["refundLineItems", str(index)]
                line_id = parse_gid(item.get("lineItemId"), "LineItem")
                line = lines.get(line_id) if line_id is not None else None
                if line is None:
                    return [_error([*path, "lineItemId"], "Line item does not belong to the order.")], None
                quantity = int(item.get("quantity") or 0)
                left = int(line["quantity"]) - taken.get(int(line["id"]), 0)
                if quantity <= 0 or quantity > left:
                    message = f"Quantity cannot refund more items than were purchased (at most {left} left)."
                    return [_error([*path, "quantity"], message)], None
                restock = str(item.get("restockType") or "NO_RESTOCK")
                location = parse_gid(item.get("locationId"), "Location")
                if restock == "RETURN" and location not in shop.stock.locations:
                    return [_error([*path, "locationId"], "Location is required to restock returned items.")], None
                taken[int(line["id"])] = taken.get(int(line["id"]), 0) + quantity
                picks.append((line, quantity, restock, location))
            refund_transactions: list[tuple[Decimal, str, str]] = []
            captured = sum(
                (
                    Decimal(t["amountSet"]["shopMoney"]["amount"])
                    for t in transactions
                    if t["kind"] in ("SALE", "CAPTURE")
                ),
                Decimal(0),
            )
            refunded = sum(
                (Decimal(t["amountSet"]["shopMoney"]["amount"]) for t in transactions if t["kind"] == "REFUND"),
                Decimal(0),
            )
            by_id = {t["id"]: t for t in transactions}
            for index, entry in enumerate(data.get("transactions") or []):
                path = ["transactions", str(index)]
                parent = by_id.get(str(entry.get("parentId") or ""))
                if parent is None or parent["kind"] not in ("SALE", "CAPTURE") or parent["status"] != "SUCCESS":
                    return [
                        _error([*path, "parentId"], "Parent transaction must be a successful sale or capture.")
                    ], None
                if str(entry.get("kind")) != "REFUND":
                    return [_error([*path, "kind"], "Transaction kind must be REFUND.")], None
                try:
                    amount = Decimal(str(entry.get("amount")))
                except InvalidOperation:
                    return [_error([*path, "amount"], "Amount is invalid.")], None
                refunded += amount
                if amount <= 0 or refunded > captured:
                    return [
                        _error(
                            [*path, "amount"], f"Refund amount exceeds the refundable {captured - refunded + amount}."
                        )
                    ], None
                refund_transactions.append((amount, parent["id"], str(entry.get("gateway") or parent["gateway"])))
            if not picks and not refund_transactions:
                return [_error(["refundLineItems"], "A refund needs line items or transactions.")], None
            return [], self._record(order_id, order, picks, refund_transactions, data)

    def _record(
        self,
        order_id: int,
        order: dict[str, Any],
        picks: list[tuple[dict[str, Any], int, str, int | None]],
        payments: list[tuple[Decimal, str, str]],
        data: Mapping[str, Any],
    ) -> dict[str, Any]:
        shop = self.shop
        currency = str(order.get("currency") or "USD")
        made = [self._transaction(order, "REFUND", amount, parent) | {"gateway": gw} for amount, parent, gw in payments]
        self.transactions[order_id].extend(made)
        open_lines = {
            fo_line["lineItem"]["_id"]: fo_line
            for fo in shop.fulfilment.fulfillment_orders(order_id)
            for fo_line in fo["_lineItems"]
        }
        for line, quantity, restock, location in picks:
            line["current_quantity"] = int(line.get("current_quantity", line["quantity"])) - quantity
            fo_line = open_lines.get(int(line["id"]))
            if fo_line is not None:  # refunding what was not shipped yet leaves less to fulfil
                fo_line["remainingQuantity"] -= min(quantity, fo_line["remainingQuantity"])
            if restock == "RETURN" and location is not None:
                shop.stock.restock(line.get("sku"), quantity, location)
        total = sum((amount for amount, _, _ in payments), Decimal(0))
        refund_id = shop.next_id()
        now = shop.now_text()
        node = {
            "id": f"gid://shopify/Refund/{refund_id}",
            "legacyResourceId": str(refund_id),
            "note": data.get("note"),
            "createdAt": now,
            "totalRefundedSet": _money(total, currency),
            "transactions": made,
            "_lines": [
                {
                    "_id": int(line["id"]),
                    "quantity": q,
                    "restockType": r,
                    "lineItem": {"id": f"gid://shopify/LineItem/{line['id']}", "sku": line.get("sku")},
                }
                for line, q, r, _ in picks
            ],
        }
        self.refunds.setdefault(order_id, []).append(node)
        captured = sum(
            (
                Decimal(t["amountSet"]["shopMoney"]["amount"])
                for t in self.transactions[order_id]
                if t["kind"] in ("SALE", "CAPTURE")
            ),
            Decimal(0),
        )
        refunded = sum(
            (
                Decimal(t["amountSet"]["shopMoney"]["amount"])
                for t in self.transactions[order_id]
                if t["kind"] == "REFUND"
            ),
            Decimal(0),
        )
        if refunded > 0:
            order["financial_status"] = "refunded" if refunded >= captured else "partially_refunded"
        order.setdefault("refunds", []).append(
            {
                "id": refund_id,
                "order_id": order_id,
                "created_at": now,
                "note": data.get("note"),
                "refund_line_items": [
                    {"line_item_id": int(line["id"]), "quantity": q, "restock_type": r.lower(), "location_id": loc}
                    for line, q, r, loc in picks
                ],
                "transactions": [
                    {"amount": t["amountSet"]["shopMoney"]["amount"], "kind": "refund", "gateway": t["gateway"]}
                    for t in made
                ],
            }
        )
        order["updated_at"] = now
        shop._emit(["orders/updated"], order)
        return node


def _error(path: list[str], message: str) -> dict[str, Any]:
    return {"field": path, "message": message}
