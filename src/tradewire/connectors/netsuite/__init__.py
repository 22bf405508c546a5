"""Oracle NetSuite (SuiteTalk REST web services): an ERP that receives customers and sales orders.

NetSuite is polled (no webhooks). Writes are upserts by ``externalId`` (the canonical id), so
retries never duplicate. NetSuite limits *concurrent* requests per account (shared tier: 5), not
their rate: each process caps its requests in flight with a semaphore (``max_concurrency``), and
the ``rest`` budget below only smooths bursts shared across processes.
"""

from __future__ import annotations

from tradewire.connectors.base.budget import RateLimit
from tradewire.connectors.base.spec import ConnectorSpec
from tradewire.connectors.netsuite.sandbox import create_sandbox
from tradewire.connectors.netsuite.settings import NetSuiteSecrets, NetSuiteSettings
from tradewire.connectors.netsuite.sink import make_order_sink

SPEC = ConnectorSpec(
    system="netsuite",
    display_name="Oracle NetSuite",
    settings_model=NetSuiteSettings,
    secrets_model=NetSuiteSecrets,
    rate_limits=(RateLimit(scope="rest", rate=10.0, burst=20.0),),
    webhooks=None,
    order_source=None,
    order_sink=make_order_sink,
    sandbox=create_sandbox,
    capabilities=("order_sink", "customer_sink", "item_lookup", "suiteql", "sandbox"),
)

__all__ = ["SPEC"]
