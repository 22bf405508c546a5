"""Polling Business Central entity sets by ``lastModifiedDateTime`` (shipments and on-hand flow back this way).

The cursor is the newest ``lastModifiedDateTime`` stored so far, written in one fixed-width UTC
form (``2026-05-04T10:30:00.123000Z``) so it sorts as text. Each poll re-reads
``poll_overlap_seconds`` behind it (a record committed late with an older time is not missed);
records read twice have the same idempotency key and are stored once.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection, InboundEvent, PolledPage, PolledRecord, Poller, PollStream
from tradewire.connectors.businesscentral.client import BusinessCentralClient, BusinessCentralUnavailable
from tradewire.connectors.businesscentral.settings import BusinessCentralSettings, validate_connection

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def cursor_text(moment: datetime) -> str:
    """The cursor form of ``moment``: fixed-width UTC ISO with microseconds and ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_moment(value: str) -> datetime:
    """A BC ``lastModifiedDateTime`` (or a cursor) as an aware UTC datetime.

    Raises:
        ValueError: not an ISO-8601 time.
    """
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


@dataclass(frozen=True)
class EntityStream:
    """What one stream reads: the entity set, what to expand, and the canonical object it is.

    ``condition`` narrows the ``$filter`` (``type eq 'Inventory'``); ``ordering_field`` names the
    record field its events are ordered by (default the record id), ``ordering_label`` the word
    put before that value in the key (shipments: ``order``, so one order's shipments apply in
    order); ``snapshot_first`` makes the first poll read every record instead of looking back
    ``poll_lookback_hours``.
    """

    name: str
    entity_set: str
    expand: str | None
    object_type: str
    condition: str | None = None
    ordering_field: str = "id"
    ordering_label: str | None = None
    snapshot_first: bool = False


SHIPMENTS = EntityStream(
    "shipments",
    "salesShipments",
    "salesShipmentLines",
    "shipment",
    ordering_field="orderNumber",
    ordering_label="order",
)
SALES_ORDERS = EntityStream("sales_orders", "salesOrders", "salesOrderLines", "sales_order")
# Read-only on-hand of inventory items (FACTS §5.3), ordered per SKU like every inventory source.
INVENTORY = EntityStream(
    "inventory",
    "items",
    None,
    "inventory",
    condition="type eq 'Inventory'",
    ordering_field="number",
    snapshot_first=True,
)


class EntityPoller:
    """``Poller`` over one entity set of one company."""

    def __init__(
        self, client: BusinessCentralClient, settings: BusinessCentralSettings, stream: EntityStream, connection_id: str
    ) -> None:
        self.client = client
        self.settings = settings
        self.stream = stream
        self.connection_id = connection_id

    def since(self, cursor: str | None, now: datetime) -> datetime:
        """Where a poll starts: the cursor minus the overlap, or the look-back on the first poll."""
        if cursor is None:
            return _EPOCH if self.stream.snapshot_first else now - timedelta(hours=self.settings.poll_lookback_hours)
        return parse_moment(cursor) - timedelta(seconds=self.settings.poll_overlap_seconds)

    async def pages(self, cursor: str | None, *, now: datetime) -> AsyncIterator[PolledPage]:
        """Pages of records modified since the cursor (minus overlap), oldest first.

        Raises:
            BusinessCentralUnavailable: a record without ``id`` or ``lastModifiedDateTime``.
            BusinessCentral…: from the client.
        """
        start = self.since(cursor, now)
        condition = f"lastModifiedDateTime gt {start.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}"
        if self.stream.condition:
            condition = f"{condition} and {self.stream.condition}"
        params: dict[str, str | int] = {"$filter": condition, "$orderby": "lastModifiedDateTime asc"}
        if self.stream.expand:
            params["$expand"] = self.stream.expand
        newest = cursor
        path = self.client.company(self.stream.entity_set)
        async for rows in self.client.pages(path, what=self.stream.entity_set, params=params):
            records = []
            for row in rows:
                record_id, modified = row.get("id"), row.get("lastModifiedDateTime")
                if not record_id or not isinstance(modified, str):
                    raise BusinessCentralUnavailable(
                        f"{self.stream.entity_set} record without id or lastModifiedDateTime", system="businesscentral"
                    )
                try:
                    moment = parse_moment(modified)
                except ValueError as exc:
                    raise BusinessCentralUnavailable(
                        f"{self.stream.entity_set} {record_id}: lastModifiedDateTime {modified!r} is not a time",
                        system="businesscentral",
                    ) from exc
                stamp = cursor_text(moment)
                newest = stamp if newest is None or stamp > newest else newest
                value = row.get(self.stream.ordering_field)
                label = self.stream.ordering_label
                # Records without the field fall back to their own id: the same key as the webhook events.
                ordering = f"{label}:{value}" if value and label else str(value or record_id)
                event = self._event(str(record_id), moment, stamp, ordering)
                records.append(PolledRecord(event, json.dumps(row).encode()))
            yield PolledPage(records, newest)

    def _event(self, record_id: str, moment: datetime, stamp: str, ordering: str) -> InboundEvent:
        kind = self.stream.object_type
        return InboundEvent(
            event_type=f"{kind}.updated",
            idempotency_key=f"bc:{self.stream.entity_set}:{record_id}:{stamp}",
            object_type=kind,
            external_id=record_id,
            ordering_key=f"{kind}:{self.connection_id}:{ordering}",  # same key as the webhook events
            ordering_seq=(moment - _EPOCH) // timedelta(microseconds=1),
            triggered_at=moment,
        )

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self.client.aclose()


def _opener(stream: EntityStream) -> Callable[[Connection, RateBudget, httpx.AsyncBaseTransport | None], Poller]:
    def open_poller(
        connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None = None
    ) -> Poller:
        settings, secrets = validate_connection(connection)
        client = BusinessCentralClient(settings, secrets, budget=budget, transport=transport)
        return EntityPoller(client, settings, stream, connection.id)

    return open_poller


POLL_STREAMS = (
    PollStream(SHIPMENTS.name, 300.0, _opener(SHIPMENTS)),
    PollStream(SALES_ORDERS.name, 300.0, _opener(SALES_ORDERS)),
    PollStream(INVENTORY.name, 300.0, _opener(INVENTORY)),
)
