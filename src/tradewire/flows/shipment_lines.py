"""Which order lines a shipment ships (pure: no I/O, no clock).

A warehouse names what it shipped by SKU (NetSuite, Business Central) or by the channel's line
id (ShipStation's ``lineItemKey`` when the order came from Tradewire). Channels confirm per order
line (Walmart ``lineNumber``, Amazon ``OrderItemId``), so every shipment line is mapped to the
order lines still open: its own ``order_line_id`` when that line is on the order, else the open
lines with its SKU in order (one shipment line may close several order lines with one SKU).
Shipping more than is still open is refused: a person must look at it.
"""

from __future__ import annotations

from collections.abc import Mapping

from tradewire.canonical import Order, Shipment, ShipmentLine
from tradewire.errors import PermanentError


class ShipmentMismatch(PermanentError):
    """A shipment line that does not fit the order (base of the two problems below)."""

    kind = "shipment_mismatch"


class OverShipment(ShipmentMismatch):
    """A shipment ships more of a SKU than the order still has open."""

    kind = "over_shipment"


class UnknownShipmentLine(ShipmentMismatch):
    """A shipment line whose SKU (and line id) is not on the order."""

    kind = "unknown_shipment_line"


def open_quantities(order: Order, shipped: Mapping[str, int]) -> dict[str, int]:
    """Order line id → quantity not shipped yet (never below zero)."""
    return {line.line_id: max(line.quantity - shipped.get(line.line_id, 0), 0) for line in order.lines}


def match_lines(order: Order, shipment: Shipment, shipped: Mapping[str, int]) -> list[ShipmentLine]:
    """The shipment's lines, each naming the order line it ships (split across lines of one SKU if needed).

    Args:
        order: the canonical order the shipment belongs to.
        shipment: the package.
        shipped: order line id → quantity already confirmed by earlier shipments.

    Raises:
        UnknownShipmentLine: a line whose id and SKU are both unknown on the order.
        OverShipment: more units than the order lines still have open.
    """
    remaining = open_quantities(order, shipped)
    by_id = {line.line_id: line for line in order.lines}
    matched: list[ShipmentLine] = []
    for index, line in enumerate(shipment.lines, start=1):
        own = by_id.get(line.order_line_id or "")
        if own is not None and (line.sku is None or own.sku is None or own.sku == line.sku):
            candidates = [own]
        else:
            candidates = [o for o in order.lines if line.sku is not None and o.sku == line.sku]
        if not candidates:
            what = line.sku or line.order_line_id or f"line {index}"
            raise UnknownShipmentLine(
                f"shipment {shipment.id} ships {what}, which is not on order {order.number}; "
                "fix the shipment in the warehouse system (or the order's SKUs), then replay"
            )
        wanted = line.quantity
        for candidate in candidates:
            take = min(wanted, remaining[candidate.line_id])
            if take <= 0:
                continue
            remaining[candidate.line_id] -= take
            wanted -= take
            matched.append(
                ShipmentLine(sku=candidate.sku or line.sku, quantity=take, order_line_id=candidate.line_id,
                             title=line.title or candidate.title)
            )  # fmt: skip
            if wanted == 0:
                break
        if wanted > 0:
            raise OverShipment(
                f"shipment {shipment.id} ships {line.quantity} × {line.sku or line.order_line_id} but order {order.number} has only "
                f"{line.quantity - wanted} open; check the shipment, then replay or resolve the exception"
            )
    return matched


def shipped_after(shipped: Mapping[str, int], lines: list[ShipmentLine]) -> dict[str, int]:
    """``shipped`` plus the matched ``lines``."""
    total = dict(shipped)
    for line in lines:
        if line.order_line_id is not None:
            total[line.order_line_id] = total.get(line.order_line_id, 0) + line.quantity
    return total


def fully_shipped(order: Order, shipped: Mapping[str, int]) -> bool:
    """True when every order line with a quantity has shipped in full."""
    return all(shipped.get(line.line_id, 0) >= line.quantity for line in order.lines)
