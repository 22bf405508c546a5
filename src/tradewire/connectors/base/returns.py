"""What connectors implement for returns: refund on the channel, credit in the ERP.

The returns flows reach these through ``SPEC.refund_sink`` and ``SPEC.credit_memo_sink``.
"""

from __future__ import annotations

from typing import Protocol

from tradewire.canonical import Order, Return


class RefundSink(Protocol):
    """A sales channel that refunds the customer for returned lines (Shopify, Walmart, Amazon)."""

    async def refund(self, ret: Return, *, order: Order, order_ref: str) -> str:
        """Refund ``ret.refund_total`` for its lines on the channel order; idempotent by the return's id.

        Returns the channel's refund id.
        """
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class CreditMemoSink(Protocol):
    """A system of record that books the return (return authorisation and/or credit memo)."""

    async def credit_memo(self, ret: Return, *, order: Order, sales_order_ref: str) -> str:
        """Book the credit for ``ret`` against the sales order; idempotent by the return's id."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
