"""Canonical Refund v1: money a channel gave back to the customer for an order."""

from __future__ import annotations

from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradewire.canonical.currency import is_currency, minor_unit
from tradewire.canonical.refs import ExternalRef
from tradewire.canonical.types import Amount, UtcDatetime

REFUND_SCHEMA_VERSION = 1


class RefundLine(BaseModel):
    """One refunded order line: ``amount`` is what it gave back (tax included)."""

    model_config = ConfigDict(extra="forbid")

    line_id: str = Field(min_length=1, max_length=64)
    order_line_id: str | None = Field(default=None, max_length=64)
    sku: str | None = Field(default=None, max_length=120)
    quantity: int = Field(default=0, ge=0, le=1_000_000)
    amount: Amount = Decimal(0)
    restock: bool = False
    """The channel says the units come back (Shopify ``restock_type: return``)."""


class Refund(BaseModel):
    """Canonical Refund v1.

    ``amount`` is what the customer got back in total (lines, shipping, adjustments); it is at
    least the sum of the lines' amounts, within one minor unit per line. ``order_external_id`` is
    the channel's order id, so the refund finds its order through the order's bindings.
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: int = REFUND_SCHEMA_VERSION
    id: str = Field(min_length=1, max_length=64)
    client_id: str = Field(min_length=1, max_length=64)
    source: ExternalRef
    order_external_id: str = Field(min_length=1, max_length=255)
    order_number: str | None = Field(default=None, max_length=64)
    created_at: UtcDatetime
    currency: str
    amount: Amount
    lines: list[RefundLine] = Field(default_factory=list, max_length=5000)
    note: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _check_invariants(self) -> Self:
        if not is_currency(self.currency):
            raise ValueError(f"currency {self.currency!r} is not an ISO 4217 code")
        ids = [line.line_id for line in self.lines]
        if len(set(ids)) != len(ids):
            raise ValueError("line_id values repeat")
        summed = sum((line.amount for line in self.lines), Decimal(0))
        if summed - self.amount > minor_unit(self.currency) * max(len(self.lines), 1):
            raise ValueError(f"refund amount {self.amount} is less than its lines' sum {summed}")
        return self
