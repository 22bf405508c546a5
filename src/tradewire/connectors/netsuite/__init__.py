"""Oracle NetSuite (SuiteTalk REST web services): an ERP that receives customers and sales orders.

NetSuite is polled (no webhooks): on-hand quantities per item and location come back as
``inventory.updated`` messages (``inventory_poller``). Writes are upserts by ``externalId`` (the canonical id), so
retries never duplicate. NetSuite limits *concurrent* requests per account (shared tier: 5), not
their rate: each process caps its requests in flight with a semaphore (``max_concurrency``), and
the ``rest`` budget below only smooths bursts shared across processes.
"""

from __future__ import annotations

from typing import Any

from tradewire.canonical import Order
from tradewire.connectors.base.budget import RateLimit
from tradewire.connectors.base.spec import ConnectorSpec, PollStream, Reads, RecordSource, Writes
from tradewire.connectors.netsuite.fulfilment import FULFILMENT_STREAM, make_invoice_sink
from tradewire.connectors.netsuite.fulfilment_mapping import item_fulfillment_to_canonical
from tradewire.connectors.netsuite.inventory_mapping import inventory_row_to_canonical
from tradewire.connectors.netsuite.inventory_poller import open_inventory_poller
from tradewire.connectors.netsuite.mapping import order_to_sales_order, sales_order_to_canonical
from tradewire.connectors.netsuite.returns import make_credit_memo_sink
from tradewire.connectors.netsuite.sandbox import create_sandbox
from tradewire.connectors.netsuite.settings import NetSuiteSecrets, NetSuiteSettings
from tradewire.connectors.netsuite.sink import make_order_sink


def preview_sales_order(order: Order) -> dict[str, Any]:
    """The salesOrder body for ``order``, with placeholder references (for ``tradewire map --to netsuite``).

    Internal ids of the customer and items are looked up at run time; here they read
    ``<customer …>`` / ``<item SKU>`` and the discount item is ``0``.
    """
    settings = NetSuiteSettings(account_id="PREVIEW", subsidiary_id="1", discount_item_id="0")
    refs = {line.sku: f"<item {line.sku}>" for line in order.lines if line.sku}
    customer = f"<customer {order.customer.email or 'guest'}>"
    return order_to_sales_order(order, customer_ref=customer, item_refs=refs, settings=settings)


SPEC = ConnectorSpec(
    system="netsuite",
    display_name="Oracle NetSuite",
    settings_model=NetSuiteSettings,
    secrets_model=NetSuiteSecrets,
    rate_limits=(RateLimit(scope="rest", rate=10.0, burst=20.0),),
    webhooks=None,
    order_source=None,
    order_sink=make_order_sink,
    credit_memo_sink=make_credit_memo_sink,
    sandbox=create_sandbox,
    reads={
        "sales_order": Reads("order", sales_order_to_canonical, "a salesOrder read with expandSubResources=true"),
        "item_location": Reads("inventory", inventory_row_to_canonical, "an aggregateItemLocation row as polled"),
        "item_fulfillment": Reads(
            "shipment", item_fulfillment_to_canonical, "an itemFulfillment read with expandSubResources=true"
        ),
    },
    writes={"order": Writes(preview_sales_order, "salesOrder upsert body (PUT /salesOrder/eid:…)")},
    pollers=(PollStream("inventory", every_seconds=300.0, open=open_inventory_poller), FULFILMENT_STREAM),
    sources={
        "inventory": RecordSource(
            inventory_row_to_canonical, description="on hand per item and location (polled aggregateItemLocation rows)"
        ),
        "shipment": RecordSource(item_fulfillment_to_canonical, description="a polled itemFulfillment"),
    },
    invoice_sink=make_invoice_sink,
    capabilities=(
        "order_sink",
        "customer_sink",
        "credit_memo_sink",
        "invoice_sink",
        "item_lookup",
        "suiteql",
        "item_fulfillments.poll",
        "inventory.poll",
        "sandbox",
    ),
)

__all__ = ["SPEC"]
