"""Walmart's ``ShipmentSink``: shipOrderLines of one package per canonical shipment (``SPEC.shipment_sink``)."""

from __future__ import annotations

import httpx

from tradewire.canonical import Order, Shipment
from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.walmart.client import WalmartClient
from tradewire.connectors.walmart.mapping import shipment_to_ship_request
from tradewire.connectors.walmart.poller import open_order_reader


class WalmartShipmentSink:
    """Ships PO lines with ``POST /v3/orders/{purchaseOrderId}/shipping``.

    Walmart has no idempotency key; the client reads the order back after a refusal and treats a
    request whose lines already hold that status and tracking number as done (a retry after a lost
    answer), so a repeat never ships twice.
    """

    def __init__(self, client: WalmartClient) -> None:
        self.client = client

    async def confirm_shipment(self, shipment: Shipment, *, order: Order, order_ref: str) -> str:
        """Ship the lines of ``shipment`` on purchase order ``order_ref``; returns ``<po>/<tracking number>``.

        Lines carry their Walmart ``lineNumber`` in ``order_line_id`` (the order's ``line_id``).

        Raises:
            MappingError: no tracking number, or a line without its lineNumber.
            VendorRejected: Walmart refused the shipment (e.g. more than is open).
        """
        await self.client.ship_lines(order_ref, shipment_to_ship_request(shipment))
        return f"{order_ref}/{shipment.tracking_number}"

    async def aclose(self) -> None:
        """Release connections."""
        await self.client.aclose()


def make_shipment_sink(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None
) -> WalmartShipmentSink:
    """``SPEC.shipment_sink``."""
    return WalmartShipmentSink(open_order_reader(connection, budget, transport))
