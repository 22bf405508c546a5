"""The shipments poller: overlap window, monotonic text cursor, restart from the stored cursor."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from shipstation_helpers import CREDS, connection, run, sample_order
from starlette.applications import Starlette

from tradewire.connectors.base.budget import UnlimitedBudget
from tradewire.connectors.base.spec import PolledPage, PolledRecord
from tradewire.connectors.shipstation import SPEC
from tradewire.connectors.shipstation.client import ShipStationClient
from tradewire.connectors.shipstation.mapping import order_to_createorder, shipment_to_canonical
from tradewire.connectors.shipstation.poller import format_cursor, parse_cursor, ship_notify_records
from tradewire.connectors.shipstation.settings import ShipStationSecrets, ShipStationSettings

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)  # 01:00 PDT, the hour before the fall-back


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def seeded(make_app: Callable[..., Starlette], clock: Clock, orders: int) -> Starlette:
    app = make_app(clock=clock)
    state = app.state.shipstation
    for n in range(orders):
        key = f"5b0f3c64-0d38-4b8e-9a55-7d5c2b1f7e{n:02d}"
        state.upsert_order(order_to_createorder(sample_order(f"#{n}", key)))
        state.ship_order(key, [[("a", 3)], [("b", 1)]], notify=False)
        clock.now += timedelta(minutes=20)
    return app


def poll(app: Starlette, cursor: str | None, now: datetime, **settings: object) -> list[PolledPage]:
    stream = SPEC.pollers[0]
    poller = stream.open(connection(page_size=3, **settings), UnlimitedBudget(), httpx.ASGITransport(app=app))

    async def go() -> list[PolledPage]:
        try:
            return [page async for page in poller.pages(cursor, now=now)]
        finally:
            await poller.aclose()

    return run(go())


def test_first_poll_reads_the_look_back_across_the_dst_change(make_app: Callable[..., Starlette]) -> None:
    clock = Clock(T0)
    app = seeded(make_app, clock, 5)  # shipments 01:00 PDT … 01:20 PST: the wall clock repeats
    pages = poll(app, None, clock.now)
    keys = [r.event.idempotency_key for p in pages for r in p.records]
    assert len(keys) == len(set(keys)) == 10
    cursors = [p.cursor for p in pages if p.cursor]
    assert cursors == sorted(cursors)
    assert parse_cursor(cursors[-1]) >= clock.now - timedelta(seconds=900)
    record = pages[0].records[0]
    shipment = shipment_to_canonical(json.loads(record.body), client_id="c", connection_id="conn-ss")
    assert shipment.order_external_id == "5b0f3c64-0d38-4b8e-9a55-7d5c2b1f7e00"
    assert record.event.ordering_key.startswith("shipstation:conn-ss:order:")


def test_a_restart_resumes_from_the_stored_cursor_with_the_overlap(make_app: Callable[..., Starlette]) -> None:
    clock = Clock(T0)
    app = seeded(make_app, clock, 3)
    first = poll(app, None, clock.now)
    cursor = first[-1].cursor
    assert cursor is not None
    state = app.state.shipstation
    state.upsert_order(order_to_createorder(sample_order("#late", "5b0f3c64-0d38-4b8e-9a55-7d5c2b1f7eff")))
    clock.now += timedelta(minutes=1)
    state.ship_order("5b0f3c64-0d38-4b8e-9a55-7d5c2b1f7eff", notify=False)
    second = poll(app, cursor, clock.now + timedelta(minutes=1))
    numbers = {json.loads(r.body)["orderNumber"] for p in second for r in p.records}
    assert "#late" in numbers
    assert all(p.cursor is not None and p.cursor >= cursor for p in second)


def test_a_voided_label_is_a_new_event_for_the_same_shipment(make_app: Callable[..., Starlette]) -> None:
    clock = Clock(T0)
    app = seeded(make_app, clock, 1)
    before = {r.event.idempotency_key for p in poll(app, None, clock.now) for r in p.records}
    shipment_id = next(iter(app.state.shipstation.shipments))
    app.state.shipstation.void_shipment(shipment_id)
    after = [r.event for p in poll(app, None, clock.now) for r in p.records]
    voided = [e for e in after if e.external_id == str(shipment_id)]
    assert voided[0].event_type == "shipment.voided"
    assert voided[0].idempotency_key not in before


def test_a_quiet_account_still_moves_the_cursor_forward(make_app: Callable[..., Starlette]) -> None:
    clock = Clock(T0)
    app = make_app(clock=clock)
    old = format_cursor(T0 - timedelta(days=3))
    pages = poll(app, old, T0)
    assert [len(p.records) for p in pages] == [0]
    assert pages[0].cursor == format_cursor(T0 - timedelta(seconds=900))
    assert format_cursor(T0) == "2026-11-01T08:00:00.000000Z"


def test_a_notification_expands_to_the_records_the_poll_makes(make_app: Callable[..., Starlette]) -> None:
    clock = Clock(T0)
    app = make_app(clock=clock)
    state = app.state.shipstation
    key = "5b0f3c64-0d38-4b8e-9a55-7d5c2b1f7e42"
    state.upsert_order(order_to_createorder(sample_order("#42", key)))
    made = state.ship_order(key, [[("a", 1)], [("a", 2), ("b", 1)]], notify=False)
    url = f"https://ssapi.shipstation.com/shipments?batchId={made[0]['batchNumber']}&includeShipmentItems=False"
    client = ShipStationClient(
        ShipStationSettings(base_url="https://ssapi.shipstation.com"),
        ShipStationSecrets.model_validate(CREDS),
        transport=httpx.ASGITransport(app=app),
    )

    async def expand() -> list[PolledRecord]:
        try:
            return await ship_notify_records(client, url, connection_id="conn-ss", now=clock.now)
        finally:
            await client.aclose()

    from_webhook = run(expand())
    from_poll = [r for p in poll(app, None, clock.now) for r in p.records]
    assert [(r.event.idempotency_key, r.event.ordering_key) for r in from_webhook] == [
        (r.event.idempotency_key, r.event.ordering_key) for r in from_poll
    ]
    assert [json.loads(r.body)["shipmentItems"] is not None for r in from_webhook] == [True, True]


def test_an_unreadable_create_date_does_not_stop_the_poll() -> None:
    now = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)

    def answer(request: httpx.Request) -> httpx.Response:
        shipment = {"shipmentId": 9, "orderId": 1, "orderNumber": "#1", "createDate": "someday", "shipmentItems": []}
        return httpx.Response(200, json={"shipments": [shipment], "total": 1, "page": 1, "pages": 1})

    stream = SPEC.pollers[0]
    poller = stream.open(connection(), UnlimitedBudget(), httpx.MockTransport(answer))

    async def go() -> list[PolledPage]:
        try:
            return [page async for page in poller.pages(format_cursor(now - timedelta(hours=1)), now=now)]
        finally:
            await poller.aclose()

    pages = run(go())
    assert [r.event.idempotency_key for r in pages[0].records] == ["shipment:9"]
    assert pages[0].cursor == format_cursor(now - timedelta(seconds=900))
