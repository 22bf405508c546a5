"""The RMA as the returns engine keeps it: state, lines with expected/received quantities,
dispositions, and the references of its postings (refund on the channel, credit memo in the ERP)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from tradewire.canonical import Disposition, ReturnOutcome, ReturnStatus
from tradewire.canonical.types import Amount, UtcDatetime

RmaState = ReturnStatus
"""RMA states are the canonical return statuses (docs/returns.md has the diagram)."""

RANK: dict[ReturnStatus, int] = {
    ReturnStatus.REQUESTED: 0,
    ReturnStatus.AUTHORIZED: 1,
    ReturnStatus.IN_TRANSIT: 2,
    ReturnStatus.RECEIVED: 3,
    ReturnStatus.INSPECTED: 4,
    ReturnStatus.CLOSED: 5,
    ReturnStatus.CANCELLED: 5,
}
"""How far along a state is; an RMA never moves to a lower rank."""

TERMINAL = frozenset({ReturnStatus.CLOSED, ReturnStatus.CANCELLED})


class RefundOrigin(StrEnum):
    """Who gave the money back."""

    TRADEWIRE = "tradewire"
    """We refunded on the channel (``refund_sink``)."""
    CHANNEL = "channel"
    """The channel (or someone in its admin) refunded; we only learnt of it."""


class RmaLine(BaseModel):
    """One returned item: ``expected`` units announced, ``received`` counted at inspection."""

    model_config = ConfigDict(extra="forbid")

    line_id: str = Field(min_length=1, max_length=64)
    sku: str | None = None
    order_line_id: str | None = None
    title: str = ""
    expected: int = Field(ge=0)
    received: int | None = Field(default=None, ge=0)
    disposition: Disposition | None = None
    refund_amount: Amount = Decimal(0)
    """What the customer gets back for all ``expected`` units."""

    @property
    def inspected(self) -> bool:
        """The line has been counted and given a disposition."""
        return self.received is not None and self.disposition is not None

    def refund_due(self) -> Decimal:
        """The refund for what came back: the line's amount pro rata of received units (all if none counted yet)."""
        if self.received is None or self.expected == 0:
            return self.refund_amount
        share = min(self.received, self.expected)
        return (self.refund_amount * share / self.expected).quantize(Decimal("0.01"))


class Rma(BaseModel):
    """One return merchandise authorisation.

    Attributes:
        id: the canonical return id (from the source's return).
        source_system, source_connection_id, source_external_id: where the return came from (Loop…).
        order_id: the canonical order it returns; ``channel_connection_id`` is that order's channel.
        ordering_key: the key every run that changes this RMA uses (one at a time, in order).
        refund_ref / refund_origin: the channel refund once made (by us or by the channel).
        credit_memo_ref: the ERP document once booked.
        version: bumped by every change; a stored RMA is only replaced by a higher version.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    client_id: str
    source_system: str
    source_connection_id: str
    source_external_id: str
    number: str | None = None
    order_id: str
    order_number: str
    channel_connection_id: str
    ordering_key: str
    state: ReturnStatus = ReturnStatus.REQUESTED
    outcome: ReturnOutcome = ReturnOutcome.REFUND
    currency: str
    lines: list[RmaLine]
    refund_ref: str | None = None
    refund_origin: RefundOrigin | None = None
    refund_amount: Amount | None = None
    credit_memo_ref: str | None = None
    source_changed_at: UtcDatetime | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    version: int = 1

    def line(self, line_id: str) -> RmaLine | None:
        """The line with ``line_id``, or None."""
        return next((line for line in self.lines if line.line_id == line_id), None)

    def refund_total(self) -> Decimal:
        """What the customer gets back for what came back (sum of the lines' ``refund_due``)."""
        return sum((line.refund_due() for line in self.lines), Decimal(0))

    def all_inspected(self) -> bool:
        """Every line counted and given a disposition."""
        return all(line.inspected for line in self.lines)
