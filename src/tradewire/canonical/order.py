"""Canonical Order v1: the contract every channel maps to and every ERP maps from."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradewire.canonical.currency import is_currency, minor_unit
from tradewire.canonical.party import Address, Buyer
from tradewire.canonical.refs import ExternalRef
from tradewire.canonical.types import Amount, UtcDatetime

ORDER_SCHEMA_VERSION = 1


class OrderStatus(StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"
    CLOSED = "closed"


class FinancialStatus(StrEnum):
    PENDING = "pending"
    AUTHORIZED = "authorized"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"
    UNKNOWN = "unknown"


class FulfillmentStatus(StrEnum):
    UNFULFILLED = "unfulfilled"
    PARTIAL = "partial"
    FULFILLED = "fulfilled"
    RESTOCKED = "restocked"


class OrderLine(BaseModel):
    """One line: ``total = quantity × unit_price − discount`` (tax is carried beside it)."""

    model_config = ConfigDict(extra="forbid")

    line_id: str = Field(min_length=1, max_length=64)
    sku: str | None = Field(default=None, max_length=120)
    title: str = Field(default="", max_length=500)
    quantity: int = Field(ge=0, le=1_000_000)
    unit_price: Amount
    discount: Amount = Decimal(0)
    tax: Amount = Decimal(0)
    total: Amount


class Order(BaseModel):
    """Canonical Order v1.

    Money is ``Decimal`` in ``currency`` (serialised as strings); times are UTC.
    ``subtotal`` is the sum of ``quantity × unit_price`` before discounts, and
    ``total = subtotal − discount_total + shipping_total + tax_total`` (tax left out of the sum
    when ``taxes_included``). Each rule holds within one minor unit per line.
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: int = ORDER_SCHEMA_VERSION
    id: str = Field(min_length=1, max_length=64)
    client_id: str = Field(min_length=1, max_length=64)
    source: ExternalRef
    number: str = Field(min_length=1, max_length=64)
    placed_at: UtcDatetime
    updated_at: UtcDatetime | None = None
    cancelled_at: UtcDatetime | None = None
    cancel_reason: str | None = Field(default=None, max_length=255)
    status: OrderStatus = OrderStatus.OPEN
    financial_status: FinancialStatus = FinancialStatus.UNKNOWN
    fulfillment_status: FulfillmentStatus = FulfillmentStatus.UNFULFILLED
    currency: str
    customer: Buyer = Field(default_factory=Buyer)
    billing_address: Address | None = None
    shipping_address: Address | None = None
    lines: list[OrderLine] = Field(min_length=1, max_length=5000)
    shipping_total: Amount = Decimal(0)
    discount_total: Amount = Decimal(0)
    tax_total: Amount = Decimal(0)
    taxes_included: bool = False
    subtotal: Amount
    total: Amount
    tags: list[str] = Field(default_factory=list)
    note: str | None = Field(default=None, max_length=5000)
    test: bool = False

    @model_validator(mode="after")
    def _check_invariants(self) -> Self:
        if not is_currency(self.currency):
            raise ValueError(f"currency {self.currency!r} is not an ISO 4217 code")
        unit = minor_unit(self.currency)
        problems: list[str] = []
        ids = [line.line_id for line in self.lines]
        if len(set(ids)) != len(ids):
            problems.append("line_id values repeat")
        for line in self.lines:
            expected = line.quantity * line.unit_price - line.discount
            if abs(expected - line.total) > unit:
                problems.append(
                    f"line {line.line_id}: total {line.total} != {line.quantity} x {line.unit_price} - {line.discount}"
                )
        tolerance = unit * (len(self.lines) + 1)
        gross = sum((line.quantity * line.unit_price for line in self.lines), Decimal(0))
        if abs(gross - self.subtotal) > tolerance:
            problems.append(f"subtotal {self.subtotal} != sum of line amounts {gross}")
        line_discounts = sum((line.discount for line in self.lines), Decimal(0))
        if line_discounts > self.discount_total + tolerance:
            problems.append(f"line discounts {line_discounts} exceed discount_total {self.discount_total}")
        tax = Decimal(0) if self.taxes_included else self.tax_total
        expected_total = self.subtotal - self.discount_total + self.shipping_total + tax
        if abs(expected_total - self.total) > tolerance:
            problems.append(
                f"total {self.total} != subtotal {self.subtotal} - discounts {self.discount_total}"
                f" + shipping {self.shipping_total} + tax {tax}"
            )
        if self.status is OrderStatus.CANCELLED and self.cancelled_at is None:
            problems.append("a cancelled order needs cancelled_at")
        if problems:
            raise ValueError("; ".join(problems))
        return self
