"""Microsoft Dynamics 365 Business Central (API v2.0): an ERP that receives customers and sales orders.

Auth is Entra ID client credentials (tokens cached and refreshed early). BC has no idempotency
key: the sink looks sales orders up by ``externalDocumentNumber`` and customers by a number
derived from the canonical id before it creates anything. BC runs 5 requests per user at once
(excess queued, 429 past the queue) and 6,000 per 5-minute sliding window: each process caps
its requests in flight with a semaphore (``max_concurrency``) and the ``odata`` budget below
spreads the window's 20 requests/s across processes. Changes come back by webhook
subscriptions (clientState-authenticated notifications) and by polling salesShipments /
salesOrders on ``lastModifiedDateTime``; on-hand quantities come from polling ``items``
(``inventory``) the same way, as ``inventory.updated`` messages.
"""

from __future__ import annotations

from typing import Any

from tradewire.canonical import Customer, Order
from tradewire.connectors.base.budget import RateLimit
from tradewire.connectors.base.spec import ConnectionJob, ConnectorSpec, Reads, RecordSource, Writes
from tradewire.connectors.businesscentral.inventory_mapping import item_inventory_to_canonical
from tradewire.connectors.businesscentral.invoicing import make_invoice_sink
from tradewire.connectors.businesscentral.mapping import (
    customer_to_bc,
    customer_to_canonical,
    order_to_sales_order,
    sales_order_to_order,
    shipment_to_canonical,
)
from tradewire.connectors.businesscentral.polling import POLL_STREAMS
from tradewire.connectors.businesscentral.returns import make_credit_memo_sink
from tradewire.connectors.businesscentral.sandbox import create_sandbox
from tradewire.connectors.businesscentral.settings import BusinessCentralSecrets, BusinessCentralSettings
from tradewire.connectors.businesscentral.sink import make_order_sink
from tradewire.connectors.businesscentral.subscriptions import keep_subscriptions
from tradewire.connectors.businesscentral.webhooks import WEBHOOKS

_PREVIEW = BusinessCentralSettings(
    tenant_id="preview", company_id="00000000-0000-0000-0000-000000000000", shipping_account_number="<shipping account>"
)


def preview_sales_order(order: Order) -> dict[str, Any]:
    """The deep-insert salesOrders body for ``order`` with placeholder ids (``tradewire map --to businesscentral``).

    Customer and item ids are looked up at run time; here they read ``<customer …>`` / ``<item SKU>``.
    """
    refs = {line.sku: f"<item {line.sku}>" for line in order.lines if line.sku}
    customer = f"<customer {order.customer.email or 'guest'}>"
    return order_to_sales_order(order, customer_ref=customer, item_refs=refs, settings=_PREVIEW)


def preview_customer(customer: Customer) -> dict[str, Any]:
    """The customers POST body (its ``number`` is derived from the canonical id, the lookup key)."""
    return customer_to_bc(customer, _PREVIEW)


SPEC = ConnectorSpec(
    system="businesscentral",
    display_name="Microsoft Dynamics 365 Business Central",
    settings_model=BusinessCentralSettings,
    secrets_model=BusinessCentralSecrets,
    # 6,000 requests per 5-minute sliding window per user = 20/s; a burst of 100 stays inside the window.
    rate_limits=(RateLimit(scope="odata", rate=20.0, burst=100.0),),
    webhooks=WEBHOOKS,
    order_source=None,
    order_sink=make_order_sink,
    credit_memo_sink=make_credit_memo_sink,
    sandbox=create_sandbox,
    reads={
        "sales_order": Reads("order", sales_order_to_order, "a salesOrder read with $expand=salesOrderLines"),
        "shipment": Reads("shipment", shipment_to_canonical, "a salesShipment read with $expand=salesShipmentLines"),
        "customer": Reads("customer", customer_to_canonical, "a customer entity"),
        "item": Reads("inventory", item_inventory_to_canonical, "an items entity (its read-only inventory)"),
    },
    writes={
        "order": Writes(preview_sales_order, "salesOrders deep insert (POST …/salesOrders with salesOrderLines)"),
        "customer": Writes(preview_customer, "customers POST body"),
    },
    invoice_sink=make_invoice_sink,
    pollers=POLL_STREAMS,
    sources={
        "inventory": RecordSource(
            item_inventory_to_canonical, description="on hand per item (polled items, read-only inventory field)"
        ),
        "shipment": RecordSource(shipment_to_canonical, description="a polled salesShipment with its lines"),
    },
    # Subscriptions live 3 days and are renewed a day ahead: checking every 6 hours leaves 3 tries.
    jobs=(ConnectionJob("subscriptions", every_seconds=6 * 3600.0, run=keep_subscriptions),),
    capabilities=(
        "order_sink",
        "customer_sink",
        "credit_memo_sink",
        "item_lookup",
        "webhooks",
        "polling",
        "batch",
        "invoice_sink",
        "sandbox",
        "inventory.poll",
    ),
)

__all__ = ["SPEC"]
