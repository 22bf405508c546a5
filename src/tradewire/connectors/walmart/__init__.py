"""Walmart Marketplace (US): orders polled and notified, shipments and inventory out, and a sandbox."""

from __future__ import annotations

from typing import Any

from tradewire.connectors.base.budget import RateLimit
from tradewire.connectors.base.spec import ConnectorSpec, PollStream, Reads, RecordSource, Writes
from tradewire.connectors.walmart.fulfilment import make_shipment_sink
from tradewire.connectors.walmart.mapping import (
    WalmartOrderSource,
    inventory_to_canonical,
    inventory_to_walmart,
    shipment_to_ship_request,
)
from tradewire.connectors.walmart.poller import open_order_reader, open_orders_poller
from tradewire.connectors.walmart.refunds import make_refund_sink, refund_from_order
from tradewire.connectors.walmart.settings import WalmartSecrets, WalmartSettings
from tradewire.connectors.walmart.stock import open_inventory_publisher
from tradewire.connectors.walmart.webhooks import WalmartWebhooks


def sandbox_factory(**kwargs: Any) -> Any:
    """``create_sandbox(**kwargs)``, imported on first use (the sandbox needs Starlette)."""
    from tradewire.connectors.walmart.sandbox import create_sandbox

    return create_sandbox(**kwargs)


ORDER_SOURCE = WalmartOrderSource()

# Walmart limits each API with its own token bucket; it publishes no per-endpoint numbers we could
# verify, so these are [unverified] defaults (override per connection). Feeds: the sandbox's
# documented 30 calls per hour per feed type.
RATE_LIMITS = (
    RateLimit(scope="token", rate=1.0, burst=10.0),
    RateLimit(scope="orders", rate=10.0, burst=50.0),
    RateLimit(scope="orders_update", rate=5.0, burst=20.0),
    RateLimit(scope="inventory", rate=5.0, burst=20.0),
    RateLimit(scope="feeds", rate=30.0 / 3600.0, burst=30.0),
    RateLimit(scope="feed_status", rate=2.0, burst=10.0),
    RateLimit(scope="webhooks", rate=1.0, burst=10.0),
)

SPEC = ConnectorSpec(
    system="walmart",
    display_name="Walmart Marketplace",
    settings_model=WalmartSettings,
    secrets_model=WalmartSecrets,
    rate_limits=RATE_LIMITS,
    webhooks=WalmartWebhooks(),
    order_source=ORDER_SOURCE,
    order_reader=open_order_reader,
    sandbox=sandbox_factory,
    reads={
        "order": Reads("order", ORDER_SOURCE.to_order, 'one purchase order (list element or {"order": …})'),
        "inventory": Reads("inventory", inventory_to_canonical, "GET/PUT /v3/inventory answer"),
    },
    writes={
        "shipment": Writes(
            shipment_to_ship_request, "orderShipment body of POST /v3/orders/{purchaseOrderId}/shipping"
        ),
        "inventory": Writes(inventory_to_walmart, "PUT /v3/inventory?sku= body (one record of the inventory feed)"),
    },
    shipment_sink=make_shipment_sink,
    pollers=(PollStream(name="orders", every_seconds=60.0, open=open_orders_poller),),
    sources={"refund": RecordSource(refund_from_order, description="refunds made outside Tradewire on a polled PO")},
    refund_sink=make_refund_sink,
    inventory_publisher=open_inventory_publisher,
    capabilities=(
        "webhooks.orders",
        "webhooks.subscribe",
        "order_source",
        "orders.read",
        "orders.poll",
        "orders.acknowledge",
        "orders.ship",
        "orders.cancel",
        "orders.refund",
        "refund_sink",
        "refunds.read",
        "inventory.write",
        "inventory.feed",
        "sandbox",
    ),
)

__all__ = ["SPEC"]
