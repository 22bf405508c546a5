"""Canonical Return v1 (an RMA): what the customer sends back, why, and what happens to it."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradewire.canonical.currency import is_currency, minor_unit
from tradewire.canonical.party import Email
from tradewire.canonical.refs import ExternalRef
from tradewire.canonical.types import Amount, UtcDatetime

RETURN_SCHEMA_VERSION = 1


class ReturnStatus(StrEnum):
    """The RMA lifecycle (docs/returns.md has the diagram)."""

    REQUESTED = "requested"
    AUTHORIZED = "authorized"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    INSPECTED = "inspected"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Disposition(StrEnum):
    """What happens to a returned unit after inspection."""

    RESTOCK = "restock"
    REFURBISH = "refurbish"
    WRITE_OFF = "write_off"


class ReturnOutcome(StrEnum):
    """What the customer gets back."""

    REFUND = "refund"
    STORE_CREDIT = "store_credit"
    EXCHANGE = "exchange"
    NONE = "none"


class ReturnLine(BaseModel):
    """One returned item: ``refund_amount`` is what the customer gets back for it (tax included)."""

    model_config = ConfigDict(extra="forbid")

    line_id: str = Field(min_length=1, max_length=64)
    sku: str | None = Field(default=None, max_length=120)
    title: str = Field(default="", max_length=500)
    quantity: int = Field(ge=1, le=1_000_000)
    order_line_id: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=500)
    refund_amount: Amount = Decimal(0)
    disposition: Disposition | None = None


class Return(BaseModel):
    """Canonical Return v1.

    ``refund_total`` is the sum of the lines' ``refund_amount`` (within one minor unit per line);
    ``order_number`` is the channel's order number, ``order_external_id`` its id when known.
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: int = RETURN_SCHEMA_VERSION
    id: str = Field(min_length=1, max_length=64)
    client_id: str = Field(min_length=1, max_length=64)
    source: ExternalRef
    number: str | None = Field(default=None, max_length=64)
    order_number: str = Field(min_length=1, max_length=64)
    order_external_id: str | None = Field(default=None, max_length=255)
    status: ReturnStatus = ReturnStatus.REQUESTED
    outcome: ReturnOutcome = ReturnOutcome.REFUND
    customer_email: Email = None
    created_at: UtcDatetime
    updated_at: UtcDatetime | None = None
    currency: str
    lines: list[ReturnLine] = Field(min_length=1, max_length=5000)
    refund_total: Amount = Decimal(0)
    carrier: str | None = Field(default=None, max_length=80)
    tracking_number: str | None = Field(default=None, max_length=120)

    @model_validator(mode="after")
    def _check_invariants(self) -> Self:
        if not is_currency(self.currency):
            raise ValueError(f"currency {self.currency!r} is not an ISO 4217 code")
        ids = [line.line_id for line in self.lines]
        if len(set(ids)) != len(ids):
            raise ValueError("line_id values repeat")
        summed = sum((line.refund_amount for line in self.lines), Decimal(0))
        if abs(summed - self.refund_total) > minor_unit(self.currency) * len(self.lines):
            raise ValueError(f"refund_total {self.refund_total} != sum of line refund amounts {summed}")
        return self
