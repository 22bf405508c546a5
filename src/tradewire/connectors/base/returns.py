"""What connectors implement for returns: refund on the channel, credit in the ERP.

The returns flows reach these through ``SPEC.refund_sink`` and ``SPEC.credit_memo_sink``. The
``Return`` they get is the RMA as inspected: each line's ``quantity`` is what came back and its
``refund_amount`` what the customer gets for it; ``order_line_id`` is the canonical order's
``line_id`` of that line (the channel's line id) when it could be matched.

A refund a channel shows back to us (a Shopify ``refunds/create`` webhook, a polled Walmart PO)
must be recognisable as ours: sinks put :func:`refund_marker` in the refund's note/comments where
the vendor keeps one, so the refund flows never take our own refund for a new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from tradewire.canonical import Order, Return

REFUND_MARKER_PREFIX = "tradewire:"


def refund_marker(return_id: str) -> str:
    """The note that identifies Tradewire's refund of return ``return_id`` on a channel."""
    return f"{REFUND_MARKER_PREFIX}{return_id}"


def marked_return_id(note: str | None) -> str | None:
    """The return id in a refund note written by :func:`refund_marker`, else None."""
    if not note:
        return None
    for part in note.replace(";", " ").split():
        if part.startswith(REFUND_MARKER_PREFIX) and len(part) > len(REFUND_MARKER_PREFIX):
            return part[len(REFUND_MARKER_PREFIX) :]
    return None


class RefundSink(Protocol):
    """A sales channel that refunds the customer for returned lines (Shopify, Walmart)."""

    async def refund(self, ret: Return, *, order: Order, order_ref: str) -> str:
        """Refund ``ret.refund_total`` for its lines on the channel order ``order_ref``, once per ``ret.id``.

        Implementations use the vendor's idempotency mechanism (Shopify ``@idempotent(key: ret.id)``)
        or look the refund up by :func:`refund_marker` before sending, so a retry never refunds twice.

        Returns the channel's refund id.
        """
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class CreditMemoSink(Protocol):
    """A system of record that books the return (return authorisation and/or credit memo)."""

    async def credit_memo(
        self, ret: Return, *, order: Order, sales_order_ref: str, item_refs: Mapping[str, str]
    ) -> str:
        """Book the credit for ``ret`` against the sales order, once per ``ret.id``; return the document id.

        ``item_refs`` maps each returned SKU to the ERP's item id (resolved like the order's).
        """
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
