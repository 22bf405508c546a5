"""Polling ShipStation shipments by ``createDate`` (``PollStream`` "shipments").

The cursor is the newest ``createDate`` stored so far, as fixed-width UTC text
(``2026-11-23T11:05:00.000000Z``), so cursors sort as text the way they sort in time. Each
poll reads from ``cursor − overlap`` on, in ``createDate`` order (no end bound: a Pacific end time in
the repeated DST hour could be read an hour early and hide shipments): shipments that ShipStation
records a little late are still found, and the ones read twice are deduplicated by their
idempotency key (``shipment:<id>``, or ``shipment:<id>:voided`` once a label is voided).
The cursor never moves back, and moves at least to ``now − overlap`` at the end of a poll,
so a quiet account does not re-read an ever longer window.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import ValidationError

from tradewire.connectors.base.budget import RateBudget
from tradewire.connectors.base.spec import Connection, InboundEvent, PolledPage, PolledRecord
from tradewire.connectors.shipstation.client import ShipStationClient
from tradewire.connectors.shipstation.dates import parse_pacific, safe_window_start
from tradewire.connectors.shipstation.schemas import SsShipment
from tradewire.connectors.shipstation.settings import ShipStationSecrets, ShipStationSettings
from tradewire.errors import ConfigError

STREAM = "shipments"
_CURSOR_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def format_cursor(moment: datetime) -> str:
    """Fixed-width UTC text of ``moment`` (sorts like the time it names)."""
    return moment.astimezone(UTC).strftime(_CURSOR_FORMAT)


def parse_cursor(cursor: str) -> datetime:
    """The time a cursor names.

    Raises:
        ValueError: not a cursor this poller wrote.
    """
    return datetime.strptime(cursor, _CURSOR_FORMAT).replace(tzinfo=UTC)


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_pacific(text)
    except ValueError:
        return None  # the mapping names the bad date when the record is processed


def shipment_event(shipment: SsShipment, *, connection_id: str, received: datetime) -> InboundEvent:
    """The event one polled shipment means: ``shipment.created``, or ``shipment.voided`` once voided."""
    created = _when(shipment.create_date) or received
    changed = (_when(shipment.void_date) if shipment.voided else None) or created
    order = shipment.order_id if shipment.order_id is not None else f"shipment-{shipment.shipment_id}"
    return InboundEvent(
        event_type="shipment.voided" if shipment.voided else "shipment.created",
        idempotency_key=f"shipment:{shipment.shipment_id}" + (":voided" if shipment.voided else ""),
        object_type="shipment",
        external_id=str(shipment.shipment_id),
        ordering_key=f"shipstation:{connection_id}:order:{order}",
        ordering_seq=(changed - _EPOCH) // _MICROSECOND,
        triggered_at=None,
    )


def shipment_record(shipment: SsShipment, *, connection_id: str, received: datetime) -> PolledRecord:
    """One shipment as a message: its event and its JSON (what ``shipment_to_canonical`` reads)."""
    body = json.dumps(shipment.model_dump(mode="json", by_alias=True), separators=(",", ":"))
    return PolledRecord(
        event=shipment_event(shipment, connection_id=connection_id, received=received), body=body.encode("utf-8")
    )


async def ship_notify_records(
    client: ShipStationClient, resource_url: str, *, connection_id: str, now: datetime
) -> list[PolledRecord]:
    """Expand a stored SHIP_NOTIFY notification into per-shipment records, exactly as the poller makes them.

    The idempotency keys are the poller's (``shipment:<id>``), so storing these records and
    polling the same shipments later makes one message per shipment, not two.

    Raises:
        UntrustedResourceUrl: ``resource_url`` is not at the connection's API (nothing is sent).
        ShipStationError: as any client call.
    """
    shipments = await client.fetch_ship_notify(resource_url)
    return [shipment_record(s, connection_id=connection_id, received=now) for s in shipments]


class ShipmentPoller:
    """The ``Poller`` of one connection's shipments."""

    def __init__(self, client: ShipStationClient, *, connection_id: str) -> None:
        self.client = client
        self.connection_id = connection_id
        self.settings = client.settings

    async def pages(self, cursor: str | None, *, now: datetime) -> AsyncIterator[PolledPage]:
        """Pages of shipments created since ``cursor`` − overlap (first poll: the look-back)."""
        overlap = timedelta(seconds=self.settings.poll_overlap_seconds)
        if cursor is None:
            high = now - timedelta(hours=self.settings.poll_lookback_hours)
            start = high
        else:
            try:
                high = parse_cursor(cursor)
            except ValueError:
                raise ConfigError(f"stored shipments cursor {cursor[:40]!r} is not one this poller writes") from None
            start = high - overlap
        page = 1
        while True:
            batch = await self.client.shipments_page(
                page=page, create_date_start=safe_window_start(start), sort_by="CreateDate", sort_dir="ASC"
            )
            records: list[PolledRecord] = []
            for shipment in batch.shipments:
                created = _when(shipment.create_date)
                if created is not None:
                    high = max(high, min(created, now))
                records.append(shipment_record(shipment, connection_id=self.connection_id, received=now))
            last = page >= batch.pages or not batch.shipments
            if last:
                high = max(high, now - overlap)
            yield PolledPage(records=records, cursor=format_cursor(high))
            if last:
                return
            page += 1

    async def aclose(self) -> None:
        """Close the client."""
        await self.client.aclose()


def open_shipment_poller(
    connection: Connection, budget: RateBudget, transport: httpx.AsyncBaseTransport | None
) -> ShipmentPoller:
    """Build the shipments poller of ``connection`` (the ``PollStream.open`` hook).

    Raises:
        ConfigError: the connection's settings or secrets are invalid.
    """
    try:
        settings = ShipStationSettings.model_validate(dict(connection.settings))
        secrets = ShipStationSecrets.model_validate(dict(connection.secrets))
    except ValidationError as exc:
        raise ConfigError(
            f"ShipStation connection {connection.id} is misconfigured: {exc.error_count()} problem(s)"
        ) from None
    client = ShipStationClient(settings, secrets, budget=budget, transport=transport)
    return ShipmentPoller(client, connection_id=connection.id)
