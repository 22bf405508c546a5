"""Amazon Selling Partner API: ORDER_CHANGE notifications and getOrders polling in, shipments and MFN quantities out.

Auth is Login with Amazon (refresh token → 1 h access token in ``x-amz-access-token``, no
SigV4); buyer PII is read with a Restricted Data Token when the connection asks for it.
Notifications only name the order, so ``order_source.reference`` returns the AmazonOrderId and
``order_reader`` reads getOrder + getOrderItems. Every operation has its own token bucket.
"""

from __future__ import annotations

from typing import Any

from tradewire.canonical import InventoryLevel, Shipment
from tradewire.connectors.amazon.fulfilment import make_shipment_sink
from tradewire.connectors.amazon.mapping import AmazonOrderSource
from tradewire.connectors.amazon.mapping_outbound import inventory_to_listings_patch, shipment_to_confirm_shipment
from tradewire.connectors.amazon.operations import RATE_LIMITS
from tradewire.connectors.amazon.poller import ORDERS_STREAM
from tradewire.connectors.amazon.reader import make_order_reader
from tradewire.connectors.amazon.settings import AmazonSecrets, AmazonSettings
from tradewire.connectors.amazon.stock import open_inventory_publisher
from tradewire.connectors.amazon.webhooks import AmazonNotifications
from tradewire.connectors.base.spec import ConnectorSpec, Reads, Writes


def sandbox_factory(**kwargs: Any) -> Any:
    """``create_sandbox(**kwargs)``, imported on first use (the sandbox needs Starlette)."""
    from tradewire.connectors.amazon.sandbox import create_sandbox

    return create_sandbox(**kwargs)


def preview_confirm_shipment(shipment: Shipment) -> dict[str, Any]:
    """confirmShipment body with ``<marketplaceId>`` / ``<orderItemId SKU>`` placeholders resolved at run time."""
    return shipment_to_confirm_shipment(shipment)


def preview_listings_patch(level: InventoryLevel) -> dict[str, Any]:
    """patchListingsItem body with the default product type and MFN channel."""
    return inventory_to_listings_patch(level)


ORDER_SOURCE = AmazonOrderSource()

SPEC = ConnectorSpec(
    system="amazon",
    display_name="Amazon Seller Central (SP-API)",
    settings_model=AmazonSettings,
    secrets_model=AmazonSecrets,
    rate_limits=RATE_LIMITS,
    webhooks=AmazonNotifications(),
    order_source=ORDER_SOURCE,
    order_reader=make_order_reader,
    sandbox=sandbox_factory,
    reads={
        "order": Reads(
            "order",
            ORDER_SOURCE.to_order,
            "an Orders v0 order element with its OrderItems (getOrder + getOrderItems, or getOrders + items)",
        )
    },
    writes={
        "shipment": Writes(
            preview_confirm_shipment, "confirmShipment body (POST /orders/v0/orders/{id}/shipmentConfirmation)"
        ),
        "inventory": Writes(preview_listings_patch, "patchListingsItem body (fulfillment_availability quantity)"),
    },
    shipment_sink=make_shipment_sink,
    pollers=(ORDERS_STREAM,),
    inventory_publisher=open_inventory_publisher,
    capabilities=(
        "webhooks.orders",
        "order_source",
        "order_reader",
        "orders.poll",
        "shipments.confirm",
        "inventory.listings",
        "inventory.feed",
        "sandbox",
    ),
)

__all__ = ["SPEC"]
