"""ShipStation (V1 API): the 3PL/shipping system orders are sent to and shipments come back from.

Orders go out as ``createorder`` upserts keyed by ``orderKey`` (the canonical order id), so a
retry never duplicates. Shipments come back two ways: SHIP_NOTIFY webhooks (thin, unsigned:
protected by a token in the target URL, the shipments re-read from ShipStation) and a
``shipments`` poll by ``createDate`` that catches anything a webhook missed.
"""

from __future__ import annotations

from typing import Any

from tradewire.canonical import Order
from tradewire.connectors.base.budget import RateLimit
from tradewire.connectors.base.spec import ConnectorSpec, PollStream, Reads, Writes
from tradewire.connectors.shipstation.mapping import order_to_canonical, order_to_createorder, shipment_to_canonical
from tradewire.connectors.shipstation.poller import STREAM, open_shipment_poller
from tradewire.connectors.shipstation.settings import ShipStationSecrets, ShipStationSettings
from tradewire.connectors.shipstation.sources import SHIPMENT_SOURCE
from tradewire.connectors.shipstation.webhooks import ShipStationWebhooks


def sandbox_factory(**kwargs: Any) -> Any:
    """``create_sandbox(**kwargs)``, imported on first use (the sandbox needs Starlette)."""
    from tradewire.connectors.shipstation.sandbox import create_sandbox

    return create_sandbox(**kwargs)


def preview_createorder(order: Order) -> dict[str, Any]:
    """The ``createorder`` body of ``order`` (``tradewire map … --to shipstation``); no store id."""
    return order_to_createorder(order)


SPEC = ConnectorSpec(
    system="shipstation",
    display_name="ShipStation",
    settings_model=ShipStationSettings,
    secrets_model=ShipStationSecrets,
    # V1: 40 requests per minute per API key+secret, counted in fixed windows whose start we do not
    # know. A bucket of 40 refilling 40/min lets up to ~80 through one window (a 429 storm measured by
    # benchmarks/connectors.py); paced at 39/min with no burst, no 60-s window ever sees more than 40.
    rate_limits=(RateLimit(scope="api", rate=39 / 60.0, burst=1.0),),
    webhooks=ShipStationWebhooks(),
    sandbox=sandbox_factory,
    reads={
        "shipment": Reads("shipment", shipment_to_canonical, "one GET /shipments entry (includeShipmentItems=true)"),
        "order": Reads("order", order_to_canonical, "one GET /orders entry or createorder body"),
    },
    writes={"order": Writes(preview_createorder, "POST /orders/createorder body (upsert by orderKey)")},
    sources={"shipment": SHIPMENT_SOURCE},
    pollers=(PollStream(name=STREAM, every_seconds=300.0, open=open_shipment_poller),),
    capabilities=(
        "orders.write",
        "orders.read",
        "shipments.read",
        "shipments.poll",
        "webhooks.ship_notify",
        "webhooks.subscribe",
        "sandbox",
    ),
)

__all__ = ["SPEC"]
