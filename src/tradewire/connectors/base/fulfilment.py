"""What a connector implements to take part in fulfilment: confirm shipments, invoice orders.

The fulfilment flows reach these through ``SPEC.shipment_sink`` and ``SPEC.invoice_sink``
(factories taking the connection, its rate budget and an optional test transport).
"""

from __future__ import annotations

from typing import Protocol

from tradewire.canonical import Order, Shipment


class ShipmentSink(Protocol):
    """A sales channel that is told what shipped, with tracking (Shopify, Amazon, Walmart)."""

    async def confirm_shipment(self, shipment: Shipment, *, order: Order, order_ref: str) -> str:
        """Tell the channel ``shipment`` left for its order (``order_ref``: the channel's order id).

        Idempotent by the shipment's id where the vendor allows it; returns the channel's id of
        the fulfilment it recorded.
        """
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class InvoiceSink(Protocol):
    """A system of record that invoices a shipped sales order (NetSuite, Business Central)."""

    async def invoice_order(self, order: Order, *, sales_order_ref: str) -> str:
        """Invoice the sales order (idempotent: an invoiced order returns its existing invoice's id)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
