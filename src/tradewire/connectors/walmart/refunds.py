"""Walmart refunds: our refunds out (``RefundSink``) and refunds made elsewhere read back in.

Walmart has no idempotency header for ``POST /v3/orders/{po}/refund`` and refunds the same line
again if asked twice, so every refund we send carries ``refundComments = "tradewire:<return id>"``
and, before sending, the order is read back: a line already carrying that comment means the
refund was made (a retry after a lost answer) and nothing is sent.

Refunds made in Seller Center or by Walmart itself show up on polled orders as refund charges
without our comment; :func:`refund_from_order` maps them to one canonical ``Refund`` per order
(id by PO, so one is recorded once however many updates repeat it). Limitation: a second outside
refund on an order already seen is not a new refund.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from tradewire.canonical import ExternalRef, Order, Refund, RefundLine, Return, canonical_id
from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.returns import REFUND_MARKER_PREFIX, refund_marker
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.walmart.client import WalmartClient
from tradewire.connectors.walmart.mapping import parse_order
from tradewire.connectors.walmart.schemas import OrderLine, WalmartOrder
from tradewire.connectors.walmart.webhooks import secrets_of, settings_of
from tradewire.errors import MappingError, SkippableError

SYSTEM = "walmart"
MARKER_PREFIX = REFUND_MARKER_PREFIX
CENT = Decimal("0.01")


def _refund_of(line: OrderLine) -> dict[str, Any]:
    extra = line.model_extra or {}
    refund = extra.get("refund")
    return refund if isinstance(refund, dict) else {}


def refund_comments(line: OrderLine) -> str:
    """The line's refund comments ('' when none)."""
    comments = _refund_of(line).get("refundComments")
    return comments if isinstance(comments, str) else ""


def _reason(text: str | None) -> str:
    lowered = (text or "").lower()
    if "damag" in lowered or "defect" in lowered or "broken" in lowered:
        return "DamagedItem"
    if "not received" in lowered:
        return "Merchandise not received"
    return "CustomerChangedMind"


def refund_request(ret: Return, *, order: Order, order_ref: str) -> dict[str, Any]:
    """The ``orderRefund`` body refunding ``ret``'s lines (one entry per PO line).

    Return lines are matched to PO lines by ``order_line_id`` (the PO's ``lineNumber``), else by SKU.

    Raises:
        MappingError: a returned line matches no line of the order.
    """
    by_id = {line.line_id: line for line in order.lines}
    by_sku = {line.sku: line for line in order.lines if line.sku}
    amounts: dict[str, Decimal] = {}
    quantities: dict[str, int] = {}
    reasons: dict[str, str] = {}
    for line in ret.lines:
        target = by_id.get(line.order_line_id or "") or by_sku.get(line.sku or "")
        if target is None:
            raise MappingError(
                f"return {ret.number or ret.id}: line {line.line_id} (SKU {line.sku!r}) matches no line of PO {order_ref}"
            )
        amounts[target.line_id] = amounts.get(target.line_id, Decimal(0)) + line.refund_amount
        quantities[target.line_id] = quantities.get(target.line_id, 0) + line.quantity
        reasons.setdefault(target.line_id, _reason(line.reason))
    entries = []
    for number, amount in amounts.items():
        entries.append(
            {
                "lineNumber": number,
                "isFullRefund": quantities[number] >= by_id[number].quantity,
                "refunds": {
                    "refund": [
                        {
                            "refundComments": refund_marker(ret.id),
                            "refundCharges": {
                                "refundCharge": [
                                    {
                                        "refundReason": reasons[number],
                                        "charge": {
                                            "chargeType": "PRODUCT",
                                            "chargeName": "Item Price",
                                            "chargeAmount": {"currency": ret.currency, "amount": float(-amount)},
                                        },
                                    }
                                ]
                            },
                        }
                    ]
                },
            }
        )
    return {"orderRefund": {"purchaseOrderId": order_ref, "orderLines": {"orderLine": entries}}}


def already_refunded(order: WalmartOrder, ret: Return) -> bool:
    """True when a line of ``order`` carries our refund comment for ``ret``."""
    marker = refund_marker(ret.id)
    return any(marker in refund_comments(line) for line in order.order_lines.order_line)


class WalmartRefundSink:
    """Refunds returned lines on Walmart (``RefundSink``), once per return."""

    def __init__(self, client: WalmartClient) -> None:
        self.client = client

    async def refund(self, ret: Return, *, order: Order, order_ref: str) -> str:
        """Refund ``ret``'s lines on PO ``order_ref``; returns the refund's reference (the marker).

        Raises:
            MappingError: a returned line is not on the PO.
            VendorRejected: Walmart refused (e.g. the line is not shipped).
        """
        body = refund_request(ret, order=order, order_ref=order_ref)
        current = await self.client.get_order(order_ref)
        if not already_refunded(current, ret):
            await self.client.refund_lines(order_ref, body)
        return f"{order_ref}:{refund_marker(ret.id)}"

    async def aclose(self) -> None:
        """Close the client."""
        await self.client.aclose()


def make_refund_sink(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None = None
) -> WalmartRefundSink:
    """``SPEC.refund_sink``."""
    return WalmartRefundSink(
        WalmartClient(settings_of(connection), secrets_of(connection), budget=budget, transport=transport)
    )


def _money(value: Any) -> Decimal:
    if isinstance(value, dict):
        value = value.get("amount")
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except ArithmeticError:
        return Decimal(0)


def outside_refund_lines(order: WalmartOrder) -> list[RefundLine]:
    """Refunded lines whose refund Tradewire did not make."""
    lines = []
    for line in order.order_lines.order_line:
        refund = _refund_of(line)
        charges = (refund.get("refundCharges") or {}).get("refundCharge") if refund else None
        if not isinstance(charges, list) or not charges or MARKER_PREFIX in refund_comments(line):
            continue
        amount = Decimal(0)
        for entry in charges:
            charge = entry.get("charge") if isinstance(entry, dict) else None
            if isinstance(charge, dict):
                amount += abs(_money(charge.get("chargeAmount")))
                amount += abs(_money((charge.get("tax") or {}).get("taxAmount")))
        refunded = [s for s in line.order_line_statuses.order_line_status if s.status == "Refund"]
        quantity = sum(int(s.status_quantity.amount) for s in refunded if s.status_quantity.amount.isdigit())
        lines.append(
            RefundLine(
                line_id=line.line_number,
                order_line_id=line.line_number,
                sku=line.item.sku,
                quantity=quantity,
                amount=amount.quantize(CENT),
            )
        )
    return lines


def has_outside_refund(order: WalmartOrder) -> bool:
    """The PO carries a refund Tradewire did not make."""
    return bool(outside_refund_lines(order))


def refund_from_order(payload: Mapping[str, Any], *, client_id: str, connection_id: str) -> Refund:
    """The refund made outside Tradewire on one polled PO.

    Raises:
        MappingError: not a Walmart order.
        SkippableError: the PO carries no such refund (only ours, or none).
    """
    order = parse_order(payload)
    lines = outside_refund_lines(order)
    if not lines:
        raise SkippableError(f"Walmart PO {order.purchase_order_id} carries no refund made outside Tradewire")
    currency = "USD"
    for line in order.order_lines.order_line:
        for charge in line.charges.charge:
            currency = charge.charge_amount.currency or currency
    changed = datetime.fromtimestamp(order.last_modified_ms() / 1000, tz=UTC)
    return Refund(
        id=canonical_id(client_id, "refund", f"{SYSTEM}:{connection_id}:{order.purchase_order_id}"),
        client_id=client_id,
        source=ExternalRef(
            system=SYSTEM, connection_id=connection_id, object="refund", external_id=order.purchase_order_id
        ),
        order_external_id=order.purchase_order_id,
        order_number=order.customer_order_id,
        created_at=changed,
        currency=currency.upper(),
        amount=sum((line.amount for line in lines), Decimal(0)),
        lines=lines,
    )
