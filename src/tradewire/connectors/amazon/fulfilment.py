"""Amazon's ``ShipmentSink``: confirmShipment of one package per canonical shipment (``SPEC.shipment_sink``)."""

from __future__ import annotations

import httpx

from tradewire.canonical import Order, Shipment
from tradewire.connectors.amazon.client import AmazonClient
from tradewire.connectors.amazon.reader import client_for
from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection


class AmazonShipmentSink:
    """Confirms packages with ``POST /orders/v0/orders/{id}/shipmentConfirmation``.

    Idempotent at Amazon: the packageReferenceId is derived from the canonical shipment id, and
    Amazon treats a repeat of (order, packageReferenceId) as the same package.
    """

    def __init__(self, client: AmazonClient) -> None:
        self.client = client

    async def confirm_shipment(self, shipment: Shipment, *, order: Order, order_ref: str) -> str:
        """Confirm ``shipment`` on AmazonOrderId ``order_ref``; returns ``<order id>/<packageReferenceId>``.

        Lines carry their OrderItemId in ``order_line_id`` (the order's ``line_id``).

        Raises:
            MappingError: a line's SKU is not on the order.
            VendorRejected: Amazon refused the confirmation.
        """
        package = await self.client.ship(shipment.model_copy(update={"order_external_id": order_ref}))
        return f"{order_ref}/{package}"

    async def aclose(self) -> None:
        """Release connections."""
        await self.client.aclose()


def make_shipment_sink(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None
) -> AmazonShipmentSink:
    """``SPEC.shipment_sink``."""
    return AmazonShipmentSink(client_for(connection, budget, transport))
