"""Sandbox purchase orders: generation, line status moves, refunds and event payloads (pure helpers)."""

from __future__ import annotations

import copy
import random
import time
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

DEFAULT_CATALOG: tuple[tuple[str, str, str], ...] = (
    ("WM-TEE-BLK-M", "Cotton Tee - Black - M", "12.99"),
    ("WM-MUG-11OZ", "Ceramic Mug 11oz", "8.50"),
    ("WM-LAMP-LED", "LED Desk Lamp", "34.00"),
    ("WM-SOCK-6PK", "Crew Socks 6-pack", "15.75"),
    ("WM-BOTTLE-1L", "Steel Water Bottle 1L", "19.99"),
)
_NAMES = ("Kathryn Cole", "Steffen Matt", "Dorothy Kelly", "Donna Becker", "Sunitha Murthy", "Debbie Chandler")
_CITIES = (("Warners", "NY", "13164"), ("San Francisco", "CA", "94133"), ("Chicago", "IL", "60646"))
CENT = Decimal("0.01")
ORDER_EVENTS = ("PO_CREATED", "ORDER_UPDATES", "PO_LINE_AUTOCANCELLED")


class SandboxError(Exception):
    """A request Walmart refuses: answered with ``status`` and Walmart's error body."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None, category: str = "DATA"):
        super().__init__(message)
        self.status = status
        self.body = {
            "errors": [
                {"code": code, "message": message, "category": category, "severity": "ERROR"}
                | ({"field": field} if field else {})
            ]
        }


def new_order(
    rnd: random.Random, po: str, now: int, items: Sequence[tuple[str, str, Decimal]], *, lines: int | None = None
) -> dict[str, Any]:
    """A released purchase order (every line ``Created``) drawn from ``items``, stamped ``now`` (epoch ms).

    ``lines`` distinct items (capped by the catalog), else 1–3 at random.
    """
    count = min(len(items), lines if lines is not None else rnd.randint(1, 3))
    name = rnd.choice(_NAMES)
    city, state, postal = rnd.choice(_CITIES)
    order_lines = []
    for number, (sku, title, price) in enumerate(rnd.sample(list(items), k=count), 1):
        quantity = rnd.randint(1, 2)
        amount = (price * quantity).quantize(CENT)
        tax = (amount * Decimal("0.08")).quantize(CENT)
        order_lines.append(
            {
                "lineNumber": str(number),
                "item": {"productName": title, "sku": sku},
                "charges": {
                    "charge": [
                        {
                            "chargeType": "PRODUCT",
                            "chargeName": "ItemPrice",
                            "chargeAmount": {"currency": "USD", "amount": float(amount)},
                            "tax": {"taxName": "Tax1", "taxAmount": {"currency": "USD", "amount": float(tax)}},
                        }
                    ]
                },
                "orderLineQuantity": {"unitOfMeasurement": "EACH", "amount": str(quantity)},
                "statusDate": now,
                "orderLineStatuses": {
                    "orderLineStatus": [
                        {
                            "status": "Created",
                            "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(quantity)},
                        }
                    ]
                },
                "fulfillment": {
                    "fulfillmentOption": "S2H",
                    "shipMethod": "VALUE",
                    "pickUpDateTime": now + 86_400_000,
                },
            }
        )
    return {
        "purchaseOrderId": po,
        "customerOrderId": str(5_000_000_000_000 + int(po) % 1_000_000_000),
        "customerEmailId": f"{uuid.UUID(int=rnd.getrandbits(128)).hex.upper()}@relay.walmart.com",
        "orderType": "REGULAR",
        "orderDate": now,
        "shippingInfo": {
            "phone": f"{rnd.randrange(2_000_000_000, 9_999_999_999)}",
            "estimatedDeliveryDate": now + 5 * 86_400_000,
            "estimatedShipDate": now + 86_400_000,
            "methodCode": "Value",
            "postalAddress": {
                "name": name,
                "address1": f"{rnd.randint(1, 9999)} Main St",
                "city": city,
                "state": state,
                "postalCode": postal,
                "country": "USA",
                "addressType": "RESIDENTIAL",
            },
        },
        "orderLines": {"orderLine": order_lines},
    }


def iso_ms(ms: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` of epoch milliseconds (Walmart's event times)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


def event_payload(order: Mapping[str, Any], partner_id: str) -> dict[str, Any]:
    """The PO_CREATED payload: the PO's ids, dates and lines without prices."""
    lines = []
    for line in order["orderLines"]["orderLine"]:
        status = line["orderLineStatuses"]["orderLineStatus"][-1]
        lines.append(
            {
                "lineNumber": line["lineNumber"],
                "sku": line["item"]["sku"],
                "productName": line["item"]["productName"],
                "quantity": {"unitOfMeasure": "EACH", "measurementValue": line["orderLineQuantity"]["amount"]},
                "status": status["status"].upper(),
                "statusDate": iso_ms(line["statusDate"]),
                "shippingProgramType": "TWO_DAY",
                "shippingMethod": "Value",
                "shipNodeType": "SellerFulfilled",
            }
        )
    info = order.get("shippingInfo", {})
    return {
        "partnerId": partner_id,
        "purchaseOrderId": order["purchaseOrderId"],
        "customerOrderId": order["customerOrderId"],
        "orderDate": iso_ms(order["orderDate"]),
        "estimatedDeliveryDate": iso_ms(info.get("estimatedDeliveryDate", order["orderDate"])),
        "estimatedShipDate": iso_ms(info.get("estimatedShipDate", order["orderDate"])),
        "orderLines": lines,
    }


def line_statuses(entry: Mapping[str, Any], number: str) -> list[dict[str, Any]]:
    """The ``orderLineStatuses.orderLineStatus`` list of one requested line.

    Raises:
        SandboxError: 400 when it is missing or empty.
    """
    try:
        statuses = entry["orderLineStatuses"]["orderLineStatus"]
    except (KeyError, TypeError):
        statuses = None
    if isinstance(statuses, list) and statuses:
        return statuses
    raise SandboxError(400, "INVALID_REQUEST_CONTENT", f"line {number}: orderLineStatuses.orderLineStatus[] missing")


def _amount(raw: Any, number: str) -> int:
    text = raw.get("amount") if isinstance(raw, dict) else None
    if not isinstance(text, str) or not text.isdigit() or int(text) < 1:
        raise SandboxError(
            400,
            "INVALID_REQUEST_CONTENT",
            f"line {number}: statusQuantity.amount must be a positive integer string",
            field="amount",
        )
    return int(text)


def move_quantity(line: dict[str, Any], request: Mapping[str, Any], *, target: str, number: str) -> None:
    """Move ``statusQuantity`` units of the line from open (Created/Acknowledged) to ``target``."""
    if request.get("status") != target:
        raise SandboxError(400, "INVALID_REQUEST_CONTENT", f"line {number}: status must be {target!r}", field="status")
    wanted = _amount(request.get("statusQuantity"), number)
    if target == "Shipped":
        info = request.get("trackingInfo")
        if (
            not isinstance(info, dict)
            or not info.get("trackingNumber")
            or not isinstance(info.get("carrierName"), dict)
        ):
            raise SandboxError(
                400,
                "INVALID_REQUEST_CONTENT",
                f"line {number}: trackingInfo with carrierName and trackingNumber required",
                field="trackingInfo",
            )
    statuses = line["orderLineStatuses"]["orderLineStatus"]
    open_qty = sum(int(s["statusQuantity"]["amount"]) for s in statuses if s["status"] in ("Created", "Acknowledged"))
    if wanted > open_qty:
        raise SandboxError(
            400,
            "INVALID_REQUEST_CONTENT",
            f"line {number}: {wanted} to mark {target} but only {open_qty} open",
            field="statusQuantity",
        )
    left = wanted
    for status in statuses:
        if left and status["status"] in ("Created", "Acknowledged"):
            have = int(status["statusQuantity"]["amount"])
            take = min(have, left)
            status["statusQuantity"]["amount"] = str(have - take)
            left -= take
    kept = [
        s for s in statuses if s["status"] not in ("Created", "Acknowledged") or s["statusQuantity"]["amount"] != "0"
    ]
    moved = {"status": target, "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(wanted)}}
    for key in ("trackingInfo", "cancellationReason", "returnCenterAddress"):
        if key in request:
            moved[key] = copy.deepcopy(request[key])
    line["orderLineStatuses"]["orderLineStatus"] = [*kept, moved]


def add_refund(line: dict[str, Any], entry: Mapping[str, Any]) -> None:
    shipped = [s for s in line["orderLineStatuses"]["orderLineStatus"] if s["status"] in ("Shipped", "Delivered")]
    if not shipped:
        raise SandboxError(
            400, "INVALID_REQUEST_CONTENT", f"line {line['lineNumber']} is not shipped; cancel it instead"
        )
    refunds = entry.get("refunds", {}).get("refund") if isinstance(entry.get("refunds"), dict) else None
    if not isinstance(refunds, list) or not refunds:
        raise SandboxError(400, "INVALID_REQUEST_CONTENT", f"line {line['lineNumber']}: refunds.refund[] missing")
    line.setdefault("refund", {"refundCharges": {"refundCharge": []}})
    for refund in refunds:
        line["refund"]["refundCharges"]["refundCharge"].extend(refund.get("refundCharges", {}).get("refundCharge", []))
        if refund.get("refundComments"):  # kept, like Walmart shows them on the line
            earlier = line["refund"].get("refundComments")
            line["refund"]["refundComments"] = (
                f"{earlier}; {refund['refundComments']}" if earlier else refund["refundComments"]
            )
    if entry.get("isFullRefund"):
        quantity = line["orderLineQuantity"]["amount"]
        line["orderLineStatuses"]["orderLineStatus"].append(
            {"status": "Refund", "statusQuantity": {"unitOfMeasurement": "EACH", "amount": quantity}}
        )
