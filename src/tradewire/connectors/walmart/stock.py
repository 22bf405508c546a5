"""Walmart's ``inventory_publisher``: sellable quantities through ``PUT /v3/inventory``, one SKU per call.

Walmart's inventory feed (``feedType=inventory``) takes thousands of SKUs per file but only 30
files an hour and answers minutes later; the per-SKU PUT is limited to 5/s (burst 20) and answers
at once. The outbox coalesces changes per SKU, so per-SKU calls stay within the budget and a
quantity is live in seconds; batches of ``max_batch`` SKUs keep each drain step short.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from tradewire.canonical import InventoryLevel
from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.base.stock import PublishOutcome, publish_each
from tradewire.connectors.walmart.client import WalmartClient
from tradewire.connectors.walmart.webhooks import secrets_of, settings_of


class WalmartInventoryPublisher:
    """Sets each SKU's quantity with ``update_inventory`` (absolute, idempotent by nature)."""

    max_batch = 20

    def __init__(self, client: WalmartClient) -> None:
        self.client = client

    async def publish(self, levels: Sequence[InventoryLevel]) -> list[PublishOutcome]:
        """One PUT per SKU; a SKU Walmart refuses (unknown item…) is reported, the others go on.

        Raises:
            AuthError: credentials refused (the connection is paused by the caller).
            RetryableError: 429/5xx or no budget left before the first SKU (later: the outcomes so far).
        """
        return await publish_each(levels, lambda level: self.client.update_inventory(level.sku, level.available))

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()


def open_inventory_publisher(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None
) -> WalmartInventoryPublisher:
    """``SPEC.inventory_publisher``."""
    return WalmartInventoryPublisher(
        WalmartClient(settings_of(connection), secrets_of(connection), budget=budget, transport=transport)
    )
