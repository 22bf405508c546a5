"""ShipStation as a shipment source: a SHIP_NOTIFY batch and the polled labels become the same shipments."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from shipstation_helpers import BASE, connection, run, sample_order
from starlette.applications import Starlette

from tradewire.connectors import get_spec
from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.connectors.shipstation.mapping import order_to_createorder
from tradewire.connectors.shipstation.poller import shipment_record
from tradewire.connectors.shipstation.schemas import SsShipment

SOURCE = get_spec("shipstation").sources["shipment"]


def test_a_notification_names_its_batch_and_a_polled_label_is_the_record_itself() -> None:
    url = f"{BASE}/shipments?batchId=abc&includeShipmentItems=False"
    assert SOURCE.reference({"resource_url": url, "resource_type": "SHIP_NOTIFY"}) == url
    assert SOURCE.reference({"shipmentId": 1, "orderNumber": "#5001"}) is None


def test_the_batch_read_through_the_reader_maps_like_the_polled_labels(make_app: Callable[..., Starlette]) -> None:
    app = make_app(base_url=BASE)
    state = app.state.shipstation
    order = sample_order()
    state.upsert_order(order_to_createorder(order))
    labels = state.ship_order(order.id, [[("a", 2)], [("a", 1), ("b", 1)]], notify=False)
    assert SOURCE.reader is not None
    reader = SOURCE.reader(connection(), UnlimitedBudget(), httpx.ASGITransport(app=app))
    url = f"{BASE}/shipments?batchId={labels[0]['batchNumber']}&includeShipmentItems=False"

    async def read() -> list[dict[str, object]]:
        try:
            return await reader.fetch_records(url)
        finally:
            await reader.aclose()

    from_batch = [SOURCE.to_canonical(p, client_id="client-1", connection_id="conn-ss") for p in run(read())]
    polled = [
        SOURCE.to_canonical(json.loads(record.body), client_id="client-1", connection_id="conn-ss")
        for record in (
            shipment_record(SsShipment.model_validate(s), connection_id="conn-ss", received=order.placed_at)
            for s in labels
        )
    ]
    assert [s.id for s in from_batch] == [s.id for s in polled], "one label, one canonical shipment, either way"
    assert [s.order_external_id for s in from_batch] == [order.id, order.id]
    assert [[(x.order_line_id, x.quantity) for x in s.lines] for s in from_batch] == [[("a", 2)], [("a", 1), ("b", 1)]]
