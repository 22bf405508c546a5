"""Amazon's ``inventory_publisher``: merchant-fulfilled quantities through patchListingsItem, one SKU per call.

patchListingsItem answers at once (ACCEPTED or INVALID with issues) within 5 requests/s (burst
5); the JSON_LISTINGS_FEED (``publish_quantities``) takes many SKUs per document but createFeed
allows 0.0083/s and results arrive minutes later. The outbox coalesces changes, so per-SKU
patches keep quantities live within seconds; the feed suits a full resync of a big catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from tradewire.canonical import InventoryLevel
from tradewire.connectors.amazon.client import AmazonClient
from tradewire.connectors.amazon.reader import client_for
from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection
from tradewire.connectors.base.stock import PublishOutcome, publish_each


class AmazonInventoryPublisher:
    """Sets each SKU's MFN quantity with ``set_quantity`` (absolute, idempotent by nature)."""

    max_batch = 10

    def __init__(self, client: AmazonClient) -> None:
        self.client = client

    async def publish(self, levels: Sequence[InventoryLevel]) -> list[PublishOutcome]:
        """One patch per SKU; an INVALID submission (unknown SKU…) is reported, the others go on.

        Raises:
            AuthError: credentials refused (the connection is paused by the caller).
            RetryableError: 429/5xx or no budget left before the first SKU (later: the outcomes so far).
        """
        return await publish_each(levels, self.client.set_quantity)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()


def open_inventory_publisher(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None
) -> AmazonInventoryPublisher:
    """``SPEC.inventory_publisher``."""
    return AmazonInventoryPublisher(client_for(connection, budget, transport))
