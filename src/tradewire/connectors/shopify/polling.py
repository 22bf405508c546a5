"""The Shopify orders change feed as a poll stream: the backstop for missed webhooks.

Shopify drops a webhook subscription after repeated failures and does not promise delivery,
so the scheduler also reads ``orders(sortKey: UPDATED_AT, query: "updated_at:>=…")``. Each
summary is stored as its own message (``order.updated``, or ``order.cancelled`` when it is
cancelled) keyed by order id and change time: re-reading the overlap window is a duplicate,
and ``map_order`` reads the whole order through :class:`ShopifyOrderReader` before mapping it.
A version a webhook already delivered runs once more and changes nothing (upserts by id, and
the order flow skips versions older than the one exported).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection, InboundEvent, PolledPage, PolledRecord
from tradewire.connectors.shopify.client import ShopifyAdminClient
from tradewire.connectors.shopify.mapping import graphql_order_to_rest
from tradewire.connectors.shopify.schemas import OrderSummary
from tradewire.connectors.shopify.webhooks import TOPIC_RANK, epoch_microseconds
from tradewire.errors import NotFound

# Shopify's search index lags writes by a few seconds; re-read this much before the cursor.
OVERLAP = timedelta(minutes=2)
FIRST_LOOKBACK = timedelta(days=1)
SUMMARY_KIND = "shopify.order_summary"


def cursor_text(moment: datetime) -> str:
    """A cursor that sorts as text in time order (UTC, fixed width, microseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_cursor(value: str) -> datetime:
    """The moment a cursor names.

    Raises:
        ValueError: not a cursor this poller wrote.
    """
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def summary_record(summary: OrderSummary, connection_id: str) -> PolledRecord:
    """The message for one changed order of the feed."""
    cancelled = summary.cancelled_at is not None
    body = {
        "kind": SUMMARY_KIND,
        "id": summary.id,
        "legacyResourceId": summary.legacy_resource_id,
        "name": summary.name,
        "updatedAt": summary.updated_at.isoformat(),
        "cancelledAt": summary.cancelled_at.isoformat() if summary.cancelled_at else None,
    }
    topic = "orders/cancelled" if cancelled else "orders/updated"
    event = InboundEvent(
        event_type="order.cancelled" if cancelled else "order.updated",
        # Shopify stamps whole seconds: a cancellation in the second of the last poll keeps its
        # updatedAt, so the state is part of the key (else it would pass for a re-read).
        idempotency_key=f"poll:{summary.legacy_resource_id}:{cursor_text(summary.updated_at)}:{topic}",
        object_type="order",
        external_id=summary.legacy_resource_id,
        ordering_key=f"order:{connection_id}:{summary.legacy_resource_id}",
        ordering_seq=epoch_microseconds(summary.updated_at) + TOPIC_RANK[topic],
        triggered_at=summary.updated_at,
    )
    return PolledRecord(event=event, body=json.dumps(body, separators=(",", ":")).encode())


class ShopifyOrderPoller:
    """``Poller`` of the ``orders`` stream of one shop."""

    def __init__(self, client: ShopifyAdminClient, connection_id: str) -> None:
        self.client = client
        self.connection_id = connection_id

    async def pages(self, cursor: str | None, *, now: datetime) -> AsyncIterator[PolledPage]:
        """Pages of orders changed since ``cursor`` (minus the overlap), oldest change first.

        The cursor is ``NEWEST`` after a complete read, and ``NEWEST|SINCE|AFTER`` after a read
        cut short: the next poll then resumes the same query (``updated_at >= SINCE``) after the
        GraphQL page cursor ``AFTER``, so a burst of orders sharing one second (a flash sale)
        is read through instead of being re-read from its first page forever.
        """
        newest, since, after = self.resume_point(cursor, now)
        async for page in self.client.list_orders(updated_at_min=since, after=after):
            records = [summary_record(summary, self.connection_id) for summary in page.orders]
            for summary in page.orders:
                text = cursor_text(summary.updated_at)
                newest = text if newest is None or text > newest else newest
            end = page.page_info.end_cursor
            more = page.page_info.has_next_page and end
            position = f"{newest}|{cursor_text(since)}|{end}" if more and newest else newest
            yield PolledPage(records=records, cursor=position)

    @staticmethod
    def resume_point(cursor: str | None, now: datetime) -> tuple[str | None, datetime, str | None]:
        """(newest seen, query lower bound, GraphQL cursor to resume after) of a stored cursor."""
        if not cursor:
            return None, now - FIRST_LOOKBACK, None
        parts = cursor.split("|")
        if len(parts) == 3:
            return parts[0], parse_cursor(parts[1]), parts[2]
        return parts[0], parse_cursor(parts[0]) - OVERLAP, None

    async def aclose(self) -> None:
        """Close the client."""
        await self.client.aclose()


class ShopifyOrderReader:
    """``OrderReader``: one whole order as REST JSON (what the webhooks carry)."""

    def __init__(self, client: ShopifyAdminClient) -> None:
        self.client = client

    async def fetch_order(self, external_id: str) -> dict[str, Any]:
        """The order, every line included, in REST shape.

        Raises:
            NotFound: the shop has no such order (deleted since it was listed).
        """
        order = await self.client.get_order(external_id)
        if order is None:
            raise NotFound(f"Shopify order {external_id} no longer exists")
        return graphql_order_to_rest(order.model_dump(mode="json", by_alias=True))

    async def aclose(self) -> None:
        """Close the client."""
        await self.client.aclose()


def open_order_poller(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None
) -> ShopifyOrderPoller:
    """The ``orders`` poller of a connection."""
    return ShopifyOrderPoller(ShopifyAdminClient.from_connection(connection, budget, transport), connection.id)


def open_order_reader(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None
) -> ShopifyOrderReader:
    """The order reader of a connection."""
    return ShopifyOrderReader(ShopifyAdminClient.from_connection(connection, budget, transport))
