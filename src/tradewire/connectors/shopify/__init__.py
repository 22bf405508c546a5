"""Shopify: order webhooks in, GraphQL Admin API out, and a sandbox store for tests and the demo."""

from __future__ import annotations

from typing import Any

from tradewire.connectors.base.budget import RateLimit
from tradewire.connectors.base.spec import ConnectorSpec, PollStream, Reads, RecordSource, Writes
from tradewire.connectors.shopify.fulfilment import open_shipment_sink
from tradewire.connectors.shopify.inventory import open_inventory_publisher
from tradewire.connectors.shopify.mapping import ShopifyOrderSource, order_to_rest_payload
from tradewire.connectors.shopify.polling import open_order_poller, open_order_reader
from tradewire.connectors.shopify.refunds import open_refund_sink
from tradewire.connectors.shopify.refunds_in import refund_to_canonical
from tradewire.connectors.shopify.settings import ShopifySecrets, ShopifySettings
from tradewire.connectors.shopify.webhooks import ShopifyWebhooks


def sandbox_factory(**kwargs: Any) -> Any:
    """``create_sandbox(**kwargs)``, imported on first use (the sandbox needs graphql-core and Starlette)."""
    from tradewire.connectors.shopify.sandbox import create_sandbox

    return create_sandbox(**kwargs)


ORDER_SOURCE = ShopifyOrderSource()

SPEC = ConnectorSpec(
    system="shopify",
    display_name="Shopify",
    settings_model=ShopifySettings,
    secrets_model=ShopifySecrets,
    # GraphQL Admin API cost bucket (Standard plan): 100 points/s restored, 2000 points capacity.
    rate_limits=(RateLimit(scope="graphql", rate=100.0, burst=2000.0),),
    webhooks=ShopifyWebhooks(),
    order_source=ORDER_SOURCE,
    order_reader=open_order_reader,
    pollers=(PollStream("orders", every_seconds=300.0, open=open_order_poller),),
    sandbox=sandbox_factory,
    reads={
        "order": Reads("order", ORDER_SOURCE.to_order, "an order webhook body or one REST order"),
        "refund": Reads("refund", refund_to_canonical, "a refunds/create webhook body or one REST refund"),
    },
    sources={"refund": RecordSource(refund_to_canonical, description="refunds/create webhook bodies")},
    writes={"order": Writes(order_to_rest_payload, "REST Admin order create body")},
    shipment_sink=open_shipment_sink,
    inventory_publisher=open_inventory_publisher,
    refund_sink=open_refund_sink,
    capabilities=(
        "webhooks.orders",
        "webhooks.refunds",
        "order_source",
        "orders.read",
        "orders.cancel",
        "webhooks.subscribe",
        "orders.poll",
        "sandbox",
        "fulfillments.create",
        "inventory.set",
        "refunds.create",
    ),
)

__all__ = ["SPEC"]
