"""Canonical Shipment v1: one package leaving a warehouse for one order, with its tracking."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradewire.canonical.currency import is_currency
from tradewire.canonical.party import Address
from tradewire.canonical.refs import ExternalRef
from tradewire.canonical.types import Amount, UtcDatetime

SHIPMENT_SCHEMA_VERSION = 1


class ShipmentStatus(StrEnum):
    SHIPPED = "shipped"
    VOIDED = "voided"


class ShipmentLine(BaseModel):
    """What is in the package: ``quantity`` of ``sku`` from the order line ``order_line_id`` (if known)."""

    model_config = ConfigDict(extra="forbid")

    sku: str | None = Field(default=None, max_length=120)
    quantity: int = Field(ge=1, le=1_000_000)
    order_line_id: str | None = Field(default=None, max_length=64)
    title: str = Field(default="", max_length=500)


class Shipment(BaseModel):
    """Canonical Shipment v1.

    A shipment is one package (one tracking number). An order shipped in three boxes has three
    shipments; a partial shipment lists only the lines in the box. ``order_number`` is the
    channel's order number as printed on the packing slip; ``order_external_id`` the channel's
    own order id where the sender knows it (resolved through bindings otherwise).
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SHIPMENT_SCHEMA_VERSION
    id: str = Field(min_length=1, max_length=64)
    client_id: str = Field(min_length=1, max_length=64)
    source: ExternalRef
    order_number: str = Field(min_length=1, max_length=64)
    order_external_id: str | None = Field(default=None, max_length=255)
    status: ShipmentStatus = ShipmentStatus.SHIPPED
    shipped_at: UtcDatetime
    carrier: str | None = Field(default=None, max_length=80)
    service: str | None = Field(default=None, max_length=120)
    tracking_number: str | None = Field(default=None, max_length=120)
    tracking_url: str | None = Field(default=None, max_length=2000)
    ship_from: Address | None = None
    ship_to: Address | None = None
    lines: list[ShipmentLine] = Field(min_length=1, max_length=5000)
    shipping_cost: Amount | None = None
    currency: str | None = None
    weight_grams: Decimal | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _check_invariants(self) -> Self:
        if self.currency is not None and not is_currency(self.currency):
            raise ValueError(f"currency {self.currency!r} is not an ISO 4217 code")
        if self.shipping_cost is not None and self.currency is None:
            raise ValueError("a shipping_cost needs its currency")
        return self
