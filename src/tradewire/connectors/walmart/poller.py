"""The ``orders`` poll stream: ``GET /v3/orders?lastModifiedStartDate=`` following ``nextCursor``.

The cursor is the poll's start time as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (sorts as text). Each poll
reads from ``cursor − poll_overlap_seconds`` (Walmart's index may lag), so an order changed
just before the previous poll ended is read again rather than missed; the runtime dedupes on
``po:<purchaseOrderId>:<last change ms>``. Walmart does not sort the list by change time, so
the cursor advances only with the last page: a crash mid-poll re-reads the whole window.
``createdStartDate`` is sent too (``poll_created_window_days`` back): Walmart otherwise applies its
default of orders created in the last 7 days, and later changes to older orders would be missed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx

from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection, InboundEvent, PolledPage, PolledRecord
from tradewire.connectors.walmart.client import WalmartClient, iso_millis
from tradewire.connectors.walmart.refunds import has_outside_refund
from tradewire.connectors.walmart.schemas import WalmartOrder
from tradewire.connectors.walmart.webhooks import epoch_microseconds, parse_time, secrets_of, settings_of


def cursor_text(moment: datetime) -> str:
    """The stored cursor for ``moment`` (UTC, milliseconds, ``Z``)."""
    return iso_millis(moment.astimezone(UTC))


def polled_event(order: WalmartOrder, connection: Connection) -> InboundEvent:
    """The event one polled order means (created while every line is Created; cancelled when all are)."""
    states = [{s.status for s in line.order_line_statuses.order_line_status} for line in order.order_lines.order_line]
    if states and all(s == {"Cancelled"} for s in states):
        event_type = "order.cancelled"
    elif states and all(s <= {"Created"} for s in states):
        event_type = "order.created"
    else:
        event_type = "order.refunded" if has_outside_refund(order) else "order.updated"
    changed_ms = order.last_modified_ms()
    return InboundEvent(
        event_type=event_type,
        idempotency_key=f"po:{order.purchase_order_id}:{changed_ms}",
        object_type="order",
        external_id=order.purchase_order_id,
        ordering_key=f"order:{connection.id}:{order.purchase_order_id}",
        ordering_seq=epoch_microseconds(datetime.fromtimestamp(changed_ms / 1000, tz=UTC)),
    )


class OrdersPoller:
    """``Poller`` of one connection's orders."""

    def __init__(self, connection: Connection, client: WalmartClient) -> None:
        self.connection = connection
        self.client = client

    async def pages(self, cursor: str | None, *, now: datetime) -> AsyncIterator[PolledPage]:
        """Pages of orders modified since ``cursor`` minus the overlap (first poll: the look-back)."""
        settings = self.client.settings
        previous = parse_time(cursor) if cursor else None
        if previous is None:
            since = now - timedelta(days=settings.poll_lookback_days)
        else:
            since = previous - timedelta(seconds=settings.poll_overlap_seconds)
        final = cursor_text(max(now, previous) if previous else now)
        created_since = since - timedelta(days=settings.poll_created_window_days)
        pages = self.client.iter_order_pages(
            lastModifiedStartDate=cursor_text(since), createdStartDate=cursor_text(created_since)
        )
        page = await anext(pages, None)
        while page is not None:
            following = await anext(pages, None)
            records = [
                PolledRecord(
                    event=polled_event(order, self.connection),
                    body=json.dumps(order.model_dump(by_alias=True, mode="json", exclude_none=True)).encode(),
                )
                for order in page.orders
            ]
            yield PolledPage(records=records, cursor=final if following is None else None)
            page = following

    async def aclose(self) -> None:
        """Release connections."""
        await self.client.aclose()


def open_orders_poller(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None
) -> OrdersPoller:
    """``PollStream.open`` for ``orders``."""
    client = WalmartClient(settings_of(connection), secrets_of(connection), budget=budget, transport=transport)
    return OrdersPoller(connection, client)


def open_order_reader(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None
) -> WalmartClient:
    """``SPEC.order_reader``: a client whose ``fetch_order`` reads ``GET /v3/orders/{purchaseOrderId}``."""
    return WalmartClient(settings_of(connection), secrets_of(connection), budget=budget, transport=transport)
