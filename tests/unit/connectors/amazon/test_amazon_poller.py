"""The getOrders polling backstop: closed windows, overlap, a cursor that only moves forward."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette

from tradewire.connectors.amazon import SPEC
from tradewire.connectors.amazon.client import AmazonClient
from tradewire.connectors.amazon.poller import ORDERS_STREAM, AmazonOrdersPoller
from tradewire.connectors.base.spec import PolledPage

MakeApp = Callable[..., Starlette]
MakeClient = Callable[..., AmazonClient]


def at(clock: Any) -> datetime:
    return datetime.fromtimestamp(clock.now, UTC)


async def poll(poller: AmazonOrdersPoller, cursor: str | None, now: datetime) -> list[PolledPage]:
    return [page async for page in poller.pages(cursor, now=now)]


def test_spec_declares_the_orders_stream() -> None:
    assert SPEC.pollers == (ORDERS_STREAM,)
    assert ORDERS_STREAM.name == "orders"


async def test_first_poll_reads_the_look_back_and_moves_the_cursor_on_the_last_page(
    make_app: MakeApp, make_client: MakeClient, clock: Any
) -> None:
    app = make_app()
    ids = app.state.amazon.create_orders(5)
    clock.advance(600)
    poller = AmazonOrdersPoller(make_client(app, page_size=2), connection_id="conn-1")
    try:
        pages = await poll(poller, None, at(clock))
    finally:
        await poller.aclose()
    assert [page.cursor for page in pages[:-1]] == [None, None]
    assert pages[-1].cursor == (at(clock) - timedelta(seconds=120)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    records = [record for page in pages for record in page.records]
    assert [r.event.external_id for r in records] == ids
    first = records[0]
    assert first.event.idempotency_key.startswith(f"poll:{ids[0]}:")
    assert first.event.ordering_key == f"order:conn-1:{ids[0]}"
    body = json.loads(first.body)
    assert SPEC.order_source is not None
    assert SPEC.order_source.reference(body) == ids[0]  # the reader fetches items before mapping


async def test_next_poll_overlaps_and_finds_updates_and_the_cursor_never_goes_back(
    make_app: MakeApp, make_client: MakeClient, clock: Any
) -> None:
    app = make_app()
    ids = app.state.amazon.create_orders(3)
    clock.advance(600)
    client = make_client(app)
    poller = AmazonOrdersPoller(client, connection_id="conn-1")
    try:
        first = await poll(poller, None, at(clock))
        cursor = first[-1].cursor
        assert cursor is not None
        clock.advance(60)
        app.state.amazon.cancel_order(ids[1])
        clock.advance(600)
        second = await poll(poller, cursor, at(clock))
        keys = [r.event.idempotency_key for page in second for r in page.records]
        events = [r.event for page in second for r in page.records]
        assert [e.external_id for e in events] == [ids[1]]
        assert events[0].event_type == "order.cancelled"
        assert keys[0] not in {r.event.idempotency_key for r in first[-1].records}
        later = second[-1].cursor
        assert later is not None
        assert later > cursor
        # A clock that jumps back never moves the cursor backwards.
        earlier_now = at(clock) - timedelta(hours=2)
        third = await poll(poller, later, earlier_now)
        assert third[-1].cursor == later
    finally:
        await poller.aclose()


async def test_overlap_window_reads_before_the_cursor(make_app: MakeApp, make_client: MakeClient, clock: Any) -> None:
    app = make_app()
    poller = AmazonOrdersPoller(make_client(app, poll_overlap_seconds=300), connection_id="c")
    try:
        cursor = "2026-11-23T10:00:00.000000Z"
        after, before = poller.window(cursor, now=datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
    finally:
        await poller.aclose()
    assert after == datetime(2026, 11, 23, 9, 55, tzinfo=UTC)
    assert before == datetime(2026, 11, 23, 10, 58, tzinfo=UTC)


async def test_a_restart_resumes_from_the_stored_cursor(make_app: MakeApp, make_client: MakeClient, clock: Any) -> None:
    app = make_app()
    app.state.amazon.create_orders(2)
    clock.advance(600)
    first = AmazonOrdersPoller(make_client(app), connection_id="c")
    try:
        stored = (await poll(first, None, at(clock)))[-1].cursor
    finally:
        await first.aclose()
    clock.advance(3600)
    [late] = app.state.amazon.create_orders(1)
    clock.advance(600)
    restarted = AmazonOrdersPoller(make_client(app), connection_id="c")
    try:
        pages = await poll(restarted, stored, at(clock))
    finally:
        await restarted.aclose()
    assert [r.event.external_id for page in pages for r in page.records] == [late]
