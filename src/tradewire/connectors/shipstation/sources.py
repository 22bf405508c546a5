"""ShipStation as a source of canonical shipments (``SPEC.sources["shipment"]``).

Two kinds of message carry shipments: a polled shipment (the message is the shipment) and a
SHIP_NOTIFY notification (thin: it only names a ``resource_url``, read with the connection's
credentials by :class:`ShipNotifyReader`). Both map with ``shipment_to_canonical``, so the same
label read either way becomes the same canonical shipment id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection, RecordSource
from tradewire.connectors.shipstation.client import ShipStationClient
from tradewire.connectors.shipstation.mapping import shipment_to_canonical
from tradewire.connectors.shipstation.poller import open_shipment_poller


def notification_reference(payload: Mapping[str, Any]) -> str | None:
    """The ``resource_url`` of a SHIP_NOTIFY message, or None for a polled shipment."""
    url = payload.get("resource_url")
    return url if isinstance(url, str) and url else None


class ShipNotifyReader:
    """``RecordReader``: the shipments (every page, with items) a SHIP_NOTIFY ``resource_url`` names."""

    def __init__(self, client: ShipStationClient) -> None:
        self.client = client

    async def fetch_records(self, reference: str) -> list[dict[str, Any]]:
        """Each shipment as the poller stores it (what ``shipment_to_canonical`` reads).

        Raises:
            UntrustedResourceUrl: the URL is not at the connection's API (nothing is sent).
            ShipStationError: as any client call.
        """
        shipments = await self.client.fetch_ship_notify(reference)
        return [s.model_dump(mode="json", by_alias=True) for s in shipments]

    async def aclose(self) -> None:
        """Release connections."""
        await self.client.aclose()


def make_ship_notify_reader(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None
) -> ShipNotifyReader:
    """The ``reader`` factory of the shipment source (the poller's client, settings and secrets checked)."""
    return ShipNotifyReader(open_shipment_poller(connection, budget, transport).client)


SHIPMENT_SOURCE = RecordSource(
    to_canonical=shipment_to_canonical,
    reference=notification_reference,
    reader=make_ship_notify_reader,
    description="a polled shipment, or a SHIP_NOTIFY batch read from its resource_url",
)
