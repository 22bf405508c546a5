"""The polling backstop: getOrders by LastUpdatedAfter, in case a notification never arrives.

Each poll reads the closed window ``[cursor − overlap, now − settle]`` (Amazon requires
LastUpdatedBefore two minutes or more in the past) to the last NextToken page. getOrders does
not promise an order, so the cursor moves only with the last page, to the window's end: a
crash mid-window re-reads the window, and the stored messages dedupe on
``poll:<AmazonOrderId>:<LastUpdateDate>``. The cursor is fixed-width ISO-8601 UTC text, so
it sorts like the time it names.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx

from tradewire.connectors.amazon.client import AmazonClient
from tradewire.connectors.amazon.mapping import iso_utc, parse_time
from tradewire.connectors.amazon.reader import client_for
from tradewire.connectors.amazon.webhooks import epoch_microseconds
from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection, InboundEvent, PolledPage, PolledRecord, PollStream
from tradewire.errors import MappingError

STREAM = "orders"


def polled_record(order: dict[str, Any], *, connection_id: str, now: datetime) -> PolledRecord:
    """The message for one getOrders element (its body names the order; the reader fetches the rest)."""
    order_id = str(order.get("AmazonOrderId") or "")
    if not order_id:
        raise MappingError("getOrders returned an order without AmazonOrderId")
    try:
        changed = parse_time(order.get("LastUpdateDate"), field=f"order {order_id}: LastUpdateDate")
    except MappingError:
        changed = now
    status = order.get("OrderStatus")
    event = InboundEvent(
        event_type="order.cancelled" if status == "Canceled" else "order.updated",
        idempotency_key=f"poll:{order_id}:{order.get('LastUpdateDate') or iso_utc(changed)}",
        object_type="order",
        external_id=order_id,
        ordering_key=f"order:{connection_id}:{order_id}",
        ordering_seq=epoch_microseconds(changed),
        triggered_at=changed,
    )
    body = json.dumps(order, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return PolledRecord(event=event, body=body)


class AmazonOrdersPoller:
    """``Poller`` of the ``orders`` stream of one connection."""

    def __init__(self, client: AmazonClient, *, connection_id: str) -> None:
        self.client = client
        self.connection_id = connection_id

    def window(self, cursor: str | None, *, now: datetime) -> tuple[datetime, datetime]:
        """The (LastUpdatedAfter, LastUpdatedBefore) this poll reads."""
        settings = self.client.settings
        before = now - timedelta(seconds=settings.poll_settle_seconds)
        if cursor is None:
            after = before - timedelta(seconds=settings.poll_lookback_seconds)
        else:
            after = parse_time(cursor, field="orders cursor") - timedelta(seconds=settings.poll_overlap_seconds)
        return min(after, before), before

    async def pages(self, cursor: str | None, *, now: datetime) -> AsyncIterator[PolledPage]:
        """Pages of orders updated in the window; only the last carries the new cursor."""
        after, before = self.window(cursor, now=now)
        end = iso_utc(before)
        new_cursor = max(cursor, end) if cursor is not None else end
        pending: list[PolledRecord] | None = None
        async for page in self.client.iter_orders(last_updated_after=after, last_updated_before=before):
            if pending is not None:
                yield PolledPage(pending, None)
            pending = [polled_record(o, connection_id=self.connection_id, now=now) for o in page.orders]
        yield PolledPage(pending or [], new_cursor)

    async def aclose(self) -> None:
        """Release connections."""
        await self.client.aclose()


def open_orders_poller(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None
) -> AmazonOrdersPoller:
    """``PollStream.open`` for ``orders``."""
    return AmazonOrdersPoller(client_for(connection, budget, transport), connection_id=connection.id)


# getOrders refills one request a minute (0.0167 rps), so a poll every 5 minutes costs ~5 pages of budget.
ORDERS_STREAM = PollStream(name=STREAM, every_seconds=300.0, open=open_orders_poller)
