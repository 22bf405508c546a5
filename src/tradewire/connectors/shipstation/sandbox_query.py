"""The ShipStation sandbox's options, its error type, and the list filters and paging it shares."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from tradewire.connectors.shipstation.dates import parse_pacific

ORDER_STATUSES = frozenset(
    {"awaiting_payment", "awaiting_shipment", "pending_fulfillment", "shipped", "on_hold", "cancelled"}
)
UPDATABLE = frozenset({"awaiting_payment", "awaiting_shipment", "on_hold"})
HOOK_EVENTS = frozenset(
    {
        "ORDER_NOTIFY",
        "ITEM_ORDER_NOTIFY",
        "SHIP_NOTIFY",
        "ITEM_SHIP_NOTIFY",
        "FULFILLMENT_SHIPPED",
        "FULFILLMENT_REJECTED",
    }
)
MAX_PAGE_SIZE = 500


class SandboxOptions(BaseModel):
    """How the sandbox behaves beyond the fault knobs."""

    requests_per_minute: int = Field(default=40, ge=1, description="Requests per key+secret per window (V1: 40).")
    window_seconds: float = Field(default=60.0, gt=0, description="Length of the rate window.")
    error_style: Literal["dotnet", "message"] = Field(
        default="dotnet",
        description="Error bodies: ASP.NET {Message, ExceptionMessage} [unverified] or a gateway-style {message}.",
    )
    garbage_rate: float = Field(default=0.0, ge=0, le=1, description="Answer 200 with an HTML page instead.")
    webhook_retry_delays: list[float] = Field(default=[0.2, 0.5, 1.0], description="Seconds before each retry.")
    out_of_order_delay_seconds: float = Field(default=0.5, ge=0, description="Hold-back of an out-of-order delivery.")
    duplicate_delay_seconds: float = Field(default=0.05, ge=0, description="Gap between a delivery and its duplicate.")
    webhook_concurrency: int = Field(default=16, ge=1, description="Most deliveries in flight at once.")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, description="Read timeout of one delivery.")
    default_carrier: str = Field(default="stamps_com", description="carrierCode of shipments made by ship_order.")
    default_service: str = Field(default="usps_priority_mail", description="serviceCode of those shipments.")


class SandboxError(Exception):
    """A refusal the API answers with ``status`` and ShipStation's error body."""

    def __init__(self, status: int, message: str, exception_message: str | None = None) -> None:
        super().__init__(exception_message or message)
        self.status = status
        self.message = message
        self.exception_message = exception_message


@dataclass
class RateVerdict:
    """Whether a request may run, and the ``X-Rate-Limit-*`` headers to send."""

    allowed: bool
    headers: dict[str, str]


def bad(detail: str) -> SandboxError:
    return SandboxError(400, "The request is invalid.", detail)


def dec(value: Any, field: str) -> Decimal:
    if value is None:
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise bad(f"{field} must be a number")
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise bad(f"{field} must be a number") from None


def num(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


def descending(params: Mapping[str, str]) -> bool:
    return params.get("sortDir", "ASC").upper() == "DESC"


def date_filter(
    rows: list[dict[str, Any]], params: Mapping[str, str], field: str, *, prefix: str = "createDate"
) -> list[dict[str, Any]]:
    bounds: list[datetime | None] = []
    for suffix in ("Start", "End"):
        text = params.get(prefix + suffix)
        if not text:
            bounds.append(None)
            continue
        try:
            bounds.append(parse_pacific(text))
        except ValueError:
            raise bad(f"{prefix}{suffix} is not a date") from None
    start, end = bounds
    if start is None and end is None:
        return rows
    kept = []
    for row in rows:
        if not row.get(field):
            continue
        moment = parse_pacific(row[field])
        if (start is None or moment >= start) and (end is None or moment <= end):
            kept.append(row)
    return kept


def page_of(rows: list[dict[str, Any]], params: Mapping[str, str], name: str) -> dict[str, Any]:
    try:
        page = int(params.get("page", "1"))
        size = int(params.get("pageSize", "100"))
    except ValueError:
        raise bad("page and pageSize must be whole numbers") from None
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise bad(f"page must be at least 1 and pageSize 1..{MAX_PAGE_SIZE}")
    total = len(rows)
    return {name: rows[(page - 1) * size : page * size], "total": total, "page": page, "pages": math.ceil(total / size)}
